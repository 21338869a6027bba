/**
 * Shape of one entry in the error catalogue.
 *
 * `exit` follows DESIGN §5: 1 = verification failed (the policy says no), 2 = usage or input
 * error, 3 = environment error (could not decide: unreachable, timeout, local I/O).
 * `http` is the status the server answers with when this error reaches a client.
 */
export interface CodeSpec {
  /** One sentence: what happened. */
  readonly meaning: string;
  /** One sentence: what the user should do about it. */
  readonly action: string;
  readonly exit: 1 | 2 | 3;
  readonly http: number;
}

/** A table of codes for one area of the code base. */
export type CodeTable = Readonly<Record<string, CodeSpec>>;
