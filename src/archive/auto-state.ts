// The effective automatic-archiving switch of one user (XEP-0136 #auto, D11, D19).
// Per-resource `<auto scope='stream'/>` settings live here (they are runtime state of the
// user's actor, lost with it, which matches their "until the end of the stream" meaning);
// `scope='global'` is persisted in Prefs.autoGlobal and mirrored here.
import type { ArchivePolicy } from "./policy.ts";

export type AutoPolicy = Pick<ArchivePolicy, "autoArchivingEnabled" | "forceArchiving" | "streamAutoTtlMs">;

interface StreamSetting {
  on: boolean;
  setAt: number;
}

export class AutoState {
  private readonly streams = new Map<string, StreamSetting>();
  private globalSetting: boolean | undefined;
  private offAt: number | undefined;
  private offEpoch = 0;

  /** `global` is Prefs.autoGlobal as loaded (undefined when never set). */
  constructor(global?: boolean) {
    this.globalSetting = global;
  }

  /** The stored `scope='global'` value, undefined when never set. */
  get global(): boolean | undefined {
    return this.globalSetting;
  }

  /** Effective setting of a resource, or of the bare JID (`undefined`: messages addressed to the bare JID). */
  isOn(fullJid: string | undefined, now: number, policy: AutoPolicy): boolean {
    this.expire(now, policy);
    return this.peek(fullJid, policy);
  }

  /** D19: a message is archived when the owner's sending or receiving resource has auto on. */
  anyOn(resources: readonly (string | undefined)[], now: number, policy: AutoPolicy): boolean {
    this.expire(now, policy);
    return resources.some((r) => this.peek(r, policy));
  }

  /** `<auto scope='stream'/>` from `fullJid`; lasts until the resource goes offline or `streamAutoTtlMs` passes. */
  setStream(fullJid: string, on: boolean, now: number, policy: AutoPolicy): void {
    this.change(now, policy, [fullJid], () => {
      this.streams.set(fullJid, { on, setAt: now });
    });
  }

  /**
   * `<auto scope='global'/>`: becomes the default for every resource without a stream setting.
   * It also replaces the requester's own stream setting, since the client asked for this value now.
   */
  setGlobal(on: boolean, now: number, policy: AutoPolicy, requester?: string): void {
    this.change(now, policy, requester === undefined ? [] : [requester], () => {
      this.globalSetting = on;
      if (requester !== undefined) this.streams.delete(requester);
    });
  }

  /** Replaces the mirrored global value without recording a switch (e.g. prefs reloaded from storage). */
  loadGlobal(global: boolean | undefined): void {
    this.globalSetting = global;
  }

  /** The resource's stream ended: its stream setting no longer applies. */
  resourceOffline(fullJid: string, now: number, policy: AutoPolicy): void {
    if (!this.streams.has(fullJid)) return;
    this.change(now, policy, [fullJid], () => {
      this.streams.delete(fullJid);
    });
  }

  /**
   * Last time automatic archiving went from on to off for any resource or the bare JID.
   * Switching off closes every active collection (#auto), so a message archived after this
   * instant must not join a collection whose last message is older (D3).
   */
  lastSwitchedOffAt(now: number, policy: AutoPolicy): number | undefined {
    this.expire(now, policy);
    return this.offAt;
  }

  /** Grows by one on every on→off switch. */
  epoch(now: number, policy: AutoPolicy): number {
    this.expire(now, policy);
    return this.offEpoch;
  }

  /** Resources that currently hold a stream setting (for memory accounting and tests). */
  streamCount(now: number, policy: AutoPolicy): number {
    this.expire(now, policy);
    return this.streams.size;
  }

  private fallback(policy: AutoPolicy): boolean {
    return this.globalSetting ?? policy.autoArchivingEnabled;
  }

  private peek(fullJid: string | undefined, policy: AutoPolicy): boolean {
    if (policy.forceArchiving) return true;
    const s = fullJid === undefined ? undefined : this.streams.get(fullJid);
    return s ? s.on : this.fallback(policy);
  }

  /** Runs `mutate` and records a switch-off if the bare JID or any resource went from on to off. */
  private change(now: number, policy: AutoPolicy, touched: readonly string[], mutate: () => void): void {
    this.expire(now, policy);
    const watched: (string | undefined)[] = [undefined, ...touched, ...this.streams.keys()];
    const before = watched.map((r) => this.peek(r, policy));
    mutate();
    if (watched.some((r, i) => before[i] && !this.peek(r, policy))) this.markOff(now);
  }

  /** Drops stream settings past their bound; an expiring "on" over an "off" default is a switch-off at the bound. */
  private expire(now: number, policy: AutoPolicy): void {
    for (const [jid, s] of this.streams) {
      const until = s.setAt + policy.streamAutoTtlMs;
      if (now < until) continue;
      this.streams.delete(jid);
      if (s.on && !this.peek(jid, policy)) this.markOff(until);
    }
  }

  private markOff(at: number): void {
    this.offAt = this.offAt === undefined ? at : Math.max(this.offAt, at);
    this.offEpoch += 1;
  }
}

/** Free-function form of {@link AutoState.isOn}. */
export function isAutoOn(state: AutoState, fullJid: string | undefined, now: number, policy: AutoPolicy): boolean {
  return state.isOn(fullJid, now, policy);
}
