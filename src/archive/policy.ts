// Operator policy that the pure archive logic consults. Values come from config;
// defaultPolicy() mirrors the defaults documented in PROTOCOL.md (D11, D19) and DESIGN.md.
import type { OtrMode, SaveMode } from "./model.ts";

export interface ArchivePolicy {
  /** Automatic archiving for users who never sent `<auto/>` (D11, mod_archive's auto_archiving_enabled). */
  autoArchivingEnabled: boolean;
  /** Compulsory archiving: preferences are stored but ignored, auto cannot be switched off (D11). */
  forceArchiving: boolean;
  /** Save mode when the user never set `<default/>`; also the level enforced under forceArchiving. */
  defaultSave: SaveMode;
  defaultOtr: OtrMode;
  /** Seconds; undefined keeps messages forever unless the user sets `expire`. */
  defaultExpire?: number;
  /** `timeout` the server assigns to `<session/>` rules (XEP-0136 #pref-syntax-timeout). */
  sessionTimeoutSeconds: number;
  /** Idle gap after which the next message opens a new automatic collection (D3). */
  collectionIdleMs: number;
  /** Bound on how long an `<auto scope='stream'/>` setting lives without the resource going offline (D19). */
  streamAutoTtlMs: number;
  /** Whether `save='message'` (full stanza content) is accepted (D12). */
  supportMessageMode: boolean;
}

export const defaultPolicy = (): ArchivePolicy => ({
  autoArchivingEnabled: true,
  forceArchiving: false,
  defaultSave: "body",
  defaultOtr: "concede",
  sessionTimeoutSeconds: 3600,
  collectionIdleMs: 30 * 60 * 1000,
  streamAutoTtlMs: 24 * 60 * 60 * 1000,
  supportMessageMode: true,
});
