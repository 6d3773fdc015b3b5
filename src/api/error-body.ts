// The one error body of the API, for HTTP answers and WebSocket messages alike: `{error, code, ...details}`.
import type { VecStoreError } from '../errors.js';
import type { ErrorBody } from './schemas.js';

/** The wire body of an error: its message (`<field>: <reason>`), its stable code, and its details (field, hint, ...). */
export function errorBody(err: VecStoreError): ErrorBody & Record<string, unknown> {
  return { error: err.message, code: err.code, ...err.details };
}
