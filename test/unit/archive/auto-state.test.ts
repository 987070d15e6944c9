import { describe, expect, it } from "vitest";
import { AutoState, isAutoOn } from "../../../src/archive/auto-state.ts";
import type { AutoPolicy } from "../../../src/archive/auto-state.ts";

const TTL = 1000;
const on: AutoPolicy = { autoArchivingEnabled: true, forceArchiving: false, streamAutoTtlMs: TTL };
const off: AutoPolicy = { ...on, autoArchivingEnabled: false };
const forced: AutoPolicy = { ...off, forceArchiving: true };
const A = "juliet@capulet.com/balcony";
const B = "juliet@capulet.com/chamber";

describe("defaults (D11)", () => {
  it("policy decides when never set", () => {
    expect(new AutoState().isOn(A, 0, on)).toBe(true);
    expect(new AutoState().isOn(undefined, 0, on)).toBe(true);
    expect(new AutoState().isOn(A, 0, off)).toBe(false);
  });
  it("a stored global setting overrides the policy", () => {
    expect(new AutoState(false).isOn(A, 0, on)).toBe(false);
    expect(new AutoState(true).isOn(undefined, 0, off)).toBe(true);
  });
  it("compulsory archiving is always on", () => {
    const s = new AutoState(false);
    s.setStream(A, false, 0, forced);
    expect(s.isOn(A, 1, forced)).toBe(true);
    expect(s.isOn(undefined, 1, forced)).toBe(true);
    expect(s.lastSwitchedOffAt(1, forced)).toBeUndefined();
  });
});

describe("scope='stream' (D19)", () => {
  it("applies to the requesting resource only", () => {
    const s = new AutoState();
    s.setStream(A, false, 10, on);
    expect(s.isOn(A, 11, on)).toBe(false);
    expect(s.isOn(B, 11, on)).toBe(true);
    expect(s.isOn(undefined, 11, on)).toBe(true);
    expect(isAutoOn(s, A, 11, on)).toBe(false);
  });
  it("ends when the resource goes offline", () => {
    const s = new AutoState();
    s.setStream(A, false, 10, on);
    s.resourceOffline(A, 20, on);
    expect(s.isOn(A, 21, on)).toBe(true);
    expect(s.streamCount(21, on)).toBe(0);
  });
  it("ends after the bound", () => {
    const s = new AutoState();
    s.setStream(A, false, 10, on);
    expect(s.isOn(A, 10 + TTL - 1, on)).toBe(false);
    expect(s.isOn(A, 10 + TTL, on)).toBe(true);
    expect(s.streamCount(10 + TTL, on)).toBe(0);
  });
  it("a message is archived if the sending or receiving resource is on", () => {
    const s = new AutoState();
    s.setStream(A, false, 0, on);
    expect(s.anyOn([A], 1, on)).toBe(false);
    expect(s.anyOn([A, B], 1, on)).toBe(true);
    expect(s.anyOn([A, undefined], 1, on)).toBe(true);
    expect(s.anyOn([], 1, on)).toBe(false);
  });
});

describe("scope='global'", () => {
  it("becomes the default for other resources and the bare JID, replaces the requester's stream setting", () => {
    const s = new AutoState();
    s.setStream(A, true, 0, off);
    s.setStream(B, true, 0, off);
    s.setGlobal(false, 5, off, A);
    expect(s.global).toBe(false);
    expect(s.isOn(A, 6, off)).toBe(false);
    expect(s.isOn(B, 6, off)).toBe(true); // B's own stream setting still stands
    expect(s.isOn(undefined, 6, off)).toBe(false);
  });
  it("loadGlobal mirrors storage without recording a switch", () => {
    const s = new AutoState();
    s.loadGlobal(false);
    expect(s.isOn(undefined, 0, on)).toBe(false);
    expect(s.lastSwitchedOffAt(0, on)).toBeUndefined();
  });
});

describe("switch-off tracking (D3)", () => {
  it("records on→off switches of a resource", () => {
    const s = new AutoState();
    s.setStream(A, false, 100, on);
    expect(s.lastSwitchedOffAt(101, on)).toBe(100);
    expect(s.epoch(101, on)).toBe(1);
  });
  it("off→off and on→on are not switches", () => {
    const s = new AutoState();
    s.setStream(A, true, 100, on);
    s.setStream(A, true, 101, on);
    expect(s.lastSwitchedOffAt(102, on)).toBeUndefined();
    s.setStream(A, false, 103, on);
    s.setStream(A, false, 104, on);
    expect(s.lastSwitchedOffAt(105, on)).toBe(103);
    expect(s.epoch(105, on)).toBe(1);
  });
  it("global off switches the bare JID and every resource without a stream setting", () => {
    const s = new AutoState();
    s.setGlobal(false, 50, on);
    expect(s.lastSwitchedOffAt(51, on)).toBe(50);
  });
  it("going offline is a switch-off only when the stream setting was on over an off default", () => {
    const s = new AutoState();
    s.setStream(A, true, 0, off);
    s.setStream(B, false, 0, off);
    s.resourceOffline(B, 5, off);
    expect(s.lastSwitchedOffAt(6, off)).toBeUndefined();
    s.resourceOffline(A, 7, off);
    expect(s.lastSwitchedOffAt(8, off)).toBe(7);
    s.resourceOffline("unknown@x/y", 9, off);
    expect(s.epoch(10, off)).toBe(1);
  });
  it("an expiring on setting over an off default is a switch-off at the bound", () => {
    const s = new AutoState();
    s.setStream(A, true, 0, off);
    expect(s.lastSwitchedOffAt(TTL - 1, off)).toBeUndefined();
    expect(s.lastSwitchedOffAt(TTL + 500, off)).toBe(TTL);
  });
  it("an expiring off setting over an on default is not a switch-off", () => {
    const s = new AutoState();
    s.setStream(A, false, 0, on);
    expect(s.lastSwitchedOffAt(TTL * 3, on)).toBe(0);
  });
});
