// The ESM entry point: the same module as index.js (CommonJS), re-exported by name.
import yunxin from './index.js';

export const {
  checksum,
  signHeaders,
  Credentials,
  CallbackVerifier,
  signCallback,
  DeliveryGuard,
  parseCallback,
  Exchange,
  Client,
  defaultBaseUrl,
  USER_AGENT,
  YunxinError,
  ValidationError,
  ApiError,
  ProtocolError,
  TransportError,
  TimeoutError,
  CallbackVerificationError,
  AbortedError,
  DeliveryStoreError,
} = yunxin;
export default yunxin;
