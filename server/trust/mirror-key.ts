/** The value of a read-only mirror's key columns (no server keys; server/trust/mirror.ts). store.ts's collectionsDue spells it in SQL. */
export const MIRROR_KEY = 'mirror';
