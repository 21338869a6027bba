import type { CodeTable } from '../spec.js';

/** General input handling shared by every module. */
export const coreCodes = {
  INVALID_ARGUMENT: {
    meaning: 'A function or command was called with an argument of the wrong type or shape.',
    action: 'Fix the call; the message names what was expected and what was given.',
    exit: 2,
    http: 400,
  },
  JSON_MALFORMED: {
    meaning: 'Input that must be JSON is not well-formed JSON (or not valid UTF-8).',
    action: 'Check the file or response; the message gives the byte offset of the first error.',
    exit: 2,
    http: 400,
  },
  JSON_DUPLICATE_KEY: {
    meaning: 'A JSON object contains the same key twice; ocitrust refuses such input because parsers disagree on which value wins.',
    action: 'Remove the duplicate key. If the input came from a server or registry, treat it as tampered.',
    exit: 2,
    http: 400,
  },
  JSON_TOO_DEEP: {
    meaning: 'JSON input nests deeper than the configured limit.',
    action: 'Flatten the document; legitimate ocitrust documents nest only a few levels.',
    exit: 2,
    http: 400,
  },
  INPUT_TOO_LARGE: {
    meaning: 'Input exceeds the configured size limit for its kind.',
    action: 'Check the input; raise the limit in the configuration only if the document is legitimate.',
    exit: 2,
    http: 413,
  },
  CANONICAL_JSON_UNSUPPORTED: {
    meaning: 'A value cannot be canonicalized: floats, non-finite numbers, undefined, functions and other non-JSON values are refused.',
    action: 'Use only strings, integers, booleans, null, arrays and objects in signed documents.',
    exit: 2,
    http: 400,
  },
  INTERNAL: {
    meaning: 'An unexpected internal error (a bug in ocitrust).',
    action: 'Report it with the command and the log; the operation was not completed.',
    exit: 3,
    http: 500,
  },
} as const satisfies CodeTable;
