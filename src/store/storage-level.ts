/**
 * What this version writes that earlier ones do not, as one number that every node advertises
 * in its membership. A reader may rely on a newer write format only once every live node
 * writes it (the cluster's level is the lowest advertised; nodes of versions before levels
 * existed count as 0).
 *
 * 1: the list stamp is also kept in the static column of the owner's collections partition.
 */
export const STORAGE_LEVEL = 1;
