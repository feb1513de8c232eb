/**
 * The `extensions.code` /explorer answers with when it cannot serve the explorer (listed in ERRORS.md beside the
 * gateway's other codes). A disabled explorer is simply not a route: NOT_FOUND, like any unknown path.
 */
export const EXPLORER_ERROR_CODES = {
  EXPLORER_NOT_BUILT: "The local explorer's bundle is not built yet (in development it is being built on this first visit); `npm run build` builds it.",
} as const;

/** The HTTP status each code is answered with (ERRORS.md lists both). */
export const EXPLORER_ERROR_STATUS: Record<keyof typeof EXPLORER_ERROR_CODES, number> = {
  EXPLORER_NOT_BUILT: 503,
};
