import * as Either from "effect/Either"
import { MetainfoError, type MetainfoErrorReason } from "./MetainfoError.js"

/**
 * The parsers in this folder check as they read: a check that fails throws `Invalid` from wherever it is, and
 * `validate` turns that into a `MetainfoError`. Anything else thrown is a bug and goes on up.
 */
class Invalid {
  constructor(readonly reason: MetainfoErrorReason, readonly detail: string) {}
}

/** Stops the parse with `reason` and `detail` (one sentence for the user). */
export const invalid = (reason: MetainfoErrorReason, detail: string): never => {
  throw new Invalid(reason, detail)
}

/** Runs `parse`; a failed check becomes a `MetainfoError` naming `source` (a path, say) when there is one. */
export const validate = <A>(source: string | undefined, parse: () => A): Either.Either<A, MetainfoError> => {
  try {
    return Either.right(parse())
  } catch (e) {
    if (e instanceof Invalid) return Either.left(new MetainfoError({ reason: e.reason, source, detail: e.detail }))
    throw e
  }
}
