// yunxin_ecp for C#: YunXin's CheckSum signing and the ECP (专线电话) API through P/Invoke and
// libyunxin_ecp, instead of the documentation's hand-rolled CheckSumBuilder.
//
//     using (var creds = Credentials.FromEnvironment())
//     using (var client = new EcpClient(creds, new ClientOptions()))
//     {
//         string session = client.StartCall("liuxuanlin", "13888888888", "13777777777", 100);
//     }
//
// Conventions of the binding: handles are SafeHandle subclasses (freed exactly once, even when
// an exception unwinds); strings go in as NUL-terminated UTF-8 byte arrays and come out as
// IntPtr, copied into .NET strings and, when owned, freed with yx_string_free; no bool crosses
// the boundary (the ABI uses int32_t); every failure is a YunxinEcpException subclass carrying
// the result kind, the API code and message, the retry advice and whether the request may have
// been sent. Needs libyunxin_ecp.so where the runtime's loader finds it (LD_LIBRARY_PATH, or a
// Mono dllmap). Compiles with mcs (C# 7.2) and csc alike.
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;

namespace YunxinEcp
{
    /// <summary>The result kinds of the C ABI (yx_result).</summary>
    public static class Result
    {
        public const int Ok = 0;
        public const int Validation = 1;
        public const int Api = 2;
        public const int Protocol = 3;
        public const int Callback = 4;
        public const int Auth = 5;
        public const int Transport = 6;
        public const int Entropy = 7;
        public const int NullArgument = 8;
        public const int InvalidUtf8 = 9;
        public const int InvalidArgument = 10;
        public const int Io = 11;
        public const int Panic = 12;
        public const int Other = 13;
    }

    /// <summary>The three ECP endpoints (yx_endpoint).</summary>
    public static class Endpoint
    {
        public const int StartCall = 1;
        public const int StartConf = 2;
        public const int QueryBySession = 3;
    }

    /// <summary>The query's type (yx_session_kind).</summary>
    public static class SessionKind
    {
        public const int Call = 1;
        public const int Conference = 2;
    }

    /// <summary>A failure reported by the library.</summary>
    public class YunxinEcpException : Exception
    {
        /// <summary>The yx_result value.</summary>
        public int Result { get; }
        /// <summary>"validation", "api", "protocol", "callback", "auth", "transport", ...</summary>
        public string Kind { get; }
        /// <summary>The argument or parameter concerned, if any.</summary>
        public string Field { get; }
        /// <summary>The broken rule of a validation error ("country_code", "length", ...).</summary>
        public string Rule { get; }
        /// <summary>The position of a bad entry in a list parameter, or -1.</summary>
        public long Index { get; }
        /// <summary>The service's code (414, 500, ...) for API errors, else 0.</summary>
        public long ApiCode { get; }
        /// <summary>The service's own message (msg, else desc), if any.</summary>
        public string ApiMessage { get; }
        /// <summary>The HTTP status of the answer, 0 when none came back.</summary>
        public int HttpStatus { get; }
        /// <summary>The refinement of the kind: "html", "md5_mismatch", "connect", ...</summary>
        public string Reason { get; }
        /// <summary>"never", "safe", "backoff", "once_after_delay" or "outcome_unknown".</summary>
        public string RetryAdvice { get; }
        /// <summary>Whether the request may have reached the service.</summary>
        public bool MaybeSent { get; }
        /// <summary>The body of the answer, for API and protocol errors.</summary>
        public string RawBody { get; }

        internal YunxinEcpException(int result, IntPtr err)
            : base(Native.Borrowed(Native.yx_error_message(err)) ?? "unknown error")
        {
            Result = result;
            Kind = Native.Borrowed(Native.yx_result_code(result)) ?? "other";
            Field = Native.Borrowed(Native.yx_error_field(err));
            Rule = Native.Borrowed(Native.yx_error_rule(err));
            Index = Native.yx_error_index(err);
            ApiCode = Native.yx_error_api_code(err);
            ApiMessage = Native.Borrowed(Native.yx_error_api_message(err));
            HttpStatus = Native.yx_error_http_status(err);
            Reason = Native.Borrowed(Native.yx_error_reason(err));
            RetryAdvice = Native.Borrowed(Native.yx_retry_advice_code(Native.yx_error_retry_advice(err))) ?? "never";
            MaybeSent = Native.yx_error_maybe_sent(err) != 0;
            RawBody = Native.Borrowed(Native.yx_error_raw_body(err));
            HResult = result;
        }

        internal static YunxinEcpException Create(int result, IntPtr err)
        {
            try
            {
                switch (result)
                {
                    case YunxinEcp.Result.Validation: return new ValidationException(result, err);
                    case YunxinEcp.Result.Api: return new ApiException(result, err);
                    case YunxinEcp.Result.Protocol: return new ProtocolException(result, err);
                    case YunxinEcp.Result.Callback: return new CallbackException(result, err);
                    case YunxinEcp.Result.Auth: return new AuthException(result, err);
                    case YunxinEcp.Result.Transport: return new TransportException(result, err);
                    default: return new YunxinEcpException(result, err);
                }
            }
            finally
            {
                Native.yx_error_free(err);
            }
        }
    }

    /// <summary>An argument broke a rule (Field, Rule, Index); nothing was sent.</summary>
    public class ValidationException : YunxinEcpException
    {
        internal ValidationException(int result, IntPtr err) : base(result, err) { }
    }

    /// <summary>The service answered with a code other than 200 (ApiCode, ApiMessage).</summary>
    public class ApiException : YunxinEcpException
    {
        internal ApiException(int result, IntPtr err) : base(result, err) { }
    }

    /// <summary>The answer could not be read (Reason: "html", "not_json", "truncated", ...).</summary>
    public class ProtocolException : YunxinEcpException
    {
        internal ProtocolException(int result, IntPtr err) : base(result, err) { }
    }

    /// <summary>A callback was refused or unreadable (Reason: "md5_mismatch", "stale", ...).</summary>
    public class CallbackException : YunxinEcpException
    {
        internal CallbackException(int result, IntPtr err) : base(result, err) { }
    }

    /// <summary>An incoming signed request was refused (server side; Reason).</summary>
    public class AuthException : YunxinEcpException
    {
        internal AuthException(int result, IntPtr err) : base(result, err) { }
    }

    /// <summary>No complete answer came back (Reason: "connect", "timeout", ...; MaybeSent).</summary>
    public class TransportException : YunxinEcpException
    {
        internal TransportException(int result, IntPtr err) : base(result, err) { }
    }

    /// <summary>A handle of the library, freed exactly once by its yx_*_free function.</summary>
    public abstract class YxHandle : SafeHandle
    {
        protected YxHandle() : base(IntPtr.Zero, true) { }

        public override bool IsInvalid
        {
            get { return handle == IntPtr.Zero; }
        }
    }

    public sealed class CredentialsHandle : YxHandle
    {
        protected override bool ReleaseHandle() { Native.yx_credentials_free(handle); return true; }
    }

    public sealed class AuthHeadersHandle : YxHandle
    {
        protected override bool ReleaseHandle() { Native.yx_auth_headers_free(handle); return true; }
    }

    public sealed class RequestHandle : YxHandle
    {
        protected override bool ReleaseHandle() { Native.yx_request_free(handle); return true; }
    }

    public sealed class PreparedRequestHandle : YxHandle
    {
        protected override bool ReleaseHandle() { Native.yx_prepared_request_free(handle); return true; }
    }

    public sealed class CallRecordHandle : YxHandle
    {
        protected override bool ReleaseHandle() { Native.yx_call_record_free(handle); return true; }
    }

    public sealed class CallbackVerifierHandle : YxHandle
    {
        protected override bool ReleaseHandle() { Native.yx_callback_verifier_free(handle); return true; }
    }

    public sealed class CallbackEventHandle : YxHandle
    {
        protected override bool ReleaseHandle() { Native.yx_callback_event_free(handle); return true; }
    }

    public sealed class ClientBuilderHandle : YxHandle
    {
        protected override bool ReleaseHandle() { Native.yx_client_builder_free(handle); return true; }
    }

    public sealed class ClientHandle : YxHandle
    {
        protected override bool ReleaseHandle() { Native.yx_client_free(handle); return true; }
    }

    public sealed class MockServerHandle : YxHandle
    {
        protected override bool ReleaseHandle() { Native.yx_mock_server_free(handle); return true; }
    }

    public sealed class ReceivedCallbackHandle : YxHandle
    {
        protected override bool ReleaseHandle() { Native.yx_received_callback_free(handle); return true; }
    }

    /// <summary>yx_header: two borrowed C strings.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct Header
    {
        public IntPtr Name;
        public IntPtr Value;
    }

    /// <summary>The P/Invoke declarations, one per C function, and the string conventions.</summary>
    internal static class Native
    {
        private const string Lib = "yunxin_ecp";

        private static readonly UTF8Encoding Strict = new UTF8Encoding(false, true);

        /// <summary>A .NET string as NUL-terminated UTF-8 (null stays null: a NULL pointer).</summary>
        internal static byte[] Utf8(string value, string name)
        {
            if (value == null)
            {
                return null;
            }
            if (value.IndexOf('\0') >= 0)
            {
                throw new ArgumentException(name + " contains a NUL character: C strings would end there", name);
            }
            byte[] bytes = Strict.GetBytes(value);
            byte[] terminated = new byte[bytes.Length + 1];
            Buffer.BlockCopy(bytes, 0, terminated, 0, bytes.Length);
            return terminated;
        }

        /// <summary>Copies a borrowed UTF-8 C string (NULL gives null).</summary>
        internal static string Borrowed(IntPtr text)
        {
            if (text == IntPtr.Zero)
            {
                return null;
            }
            int length = 0;
            while (Marshal.ReadByte(text, length) != 0)
            {
                length++;
            }
            byte[] bytes = new byte[length];
            Marshal.Copy(text, bytes, 0, length);
            return Encoding.UTF8.GetString(bytes);
        }

        /// <summary>Copies an owned string the library returned, then frees it.</summary>
        internal static string Take(IntPtr text)
        {
            try
            {
                return Borrowed(text);
            }
            finally
            {
                yx_string_free(text);
            }
        }

        /// <summary>Throws the exception for a failed call.</summary>
        internal static void Check(int result, IntPtr err)
        {
            if (result != YunxinEcp.Result.Ok)
            {
                throw YunxinEcpException.Create(result, err);
            }
        }

        /// <summary>Copies strings to unmanaged UTF-8; FreeAll releases them.</summary>
        internal sealed class Strings : IDisposable
        {
            private readonly List<IntPtr> allocated = new List<IntPtr>();

            internal IntPtr Add(string value, string name)
            {
                if (value == null)
                {
                    return IntPtr.Zero;
                }
                byte[] bytes = Utf8(value, name);
                IntPtr memory = Marshal.AllocHGlobal(bytes.Length);
                allocated.Add(memory);
                Marshal.Copy(bytes, 0, memory, bytes.Length);
                return memory;
            }

            internal IntPtr[] Array(IList<string> values, string name)
            {
                var pointers = new IntPtr[values.Count];
                for (int i = 0; i < values.Count; i++)
                {
                    pointers[i] = Add(values[i], name + "[" + i + "]");
                }
                return pointers;
            }

            internal Header[] Headers(IEnumerable<KeyValuePair<string, string>> headers)
            {
                var list = new List<Header>();
                if (headers != null)
                {
                    foreach (var pair in headers)
                    {
                        list.Add(new Header { Name = Add(pair.Key, "header name"), Value = Add(pair.Value, "header value") });
                    }
                }
                return list.ToArray();
            }

            public void Dispose()
            {
                foreach (IntPtr memory in allocated)
                {
                    Marshal.FreeHGlobal(memory);
                }
                allocated.Clear();
            }
        }

        // ---- version, errors, strings ----
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_version();
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern uint yx_abi_version();
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern void yx_string_free(IntPtr s);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern void yx_error_free(IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_error_kind(IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_error_message(IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_error_field(IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_error_rule(IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern long yx_error_index(IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern long yx_error_api_code(IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_error_api_message(IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern ushort yx_error_http_status(IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_error_reason(IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_error_retry_advice(IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_error_maybe_sent(IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_error_raw_body(IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_error_endpoint(IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_error_to_json(IntPtr err, out IntPtr json, out IntPtr errOut);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_result_code(int result);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_retry_advice_code(int advice);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_retry_advice_is_safe(int advice);

        // ---- signing ----
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_credentials_new(byte[] appKey, byte[] appSecret, out CredentialsHandle credentials, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_credentials_from_env(out CredentialsHandle credentials, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern void yx_credentials_free(IntPtr credentials);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_credentials_app_key(CredentialsHandle credentials);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_credentials_sign(CredentialsHandle credentials, byte[] nonce, ulong curTime, out AuthHeadersHandle headers, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_credentials_sign_now(CredentialsHandle credentials, out AuthHeadersHandle headers, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern void yx_auth_headers_free(IntPtr headers);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_auth_headers_app_key(AuthHeadersHandle headers);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_auth_headers_nonce(AuthHeadersHandle headers);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_auth_headers_cur_time(AuthHeadersHandle headers);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_auth_headers_checksum(AuthHeadersHandle headers);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_checksum(byte[] secret, byte[] nonce, byte[] curTime, out IntPtr checksum, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_body_md5(byte[] body, UIntPtr bodyLen, out IntPtr md5, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_generate_nonce(UIntPtr len, out IntPtr nonce, out IntPtr err);

        // ---- requests ----
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_start_call_new(byte[] callerAcc, byte[] caller, byte[] callee, uint maxDur, out RequestHandle request, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_start_conf_new(byte[] callerAcc, byte[] caller, IntPtr[] callees, UIntPtr calleeCount, uint maxDur, out RequestHandle request, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_query_new(byte[] session, int kind, out RequestHandle request, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern void yx_request_free(IntPtr request);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_request_endpoint(RequestHandle request);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_request_form_body(RequestHandle request, out IntPtr body, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_request_to_json(RequestHandle request, out IntPtr json, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_request_prepare(RequestHandle request, byte[] baseUrl, AuthHeadersHandle auth, out PreparedRequestHandle prepared, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_request_prepare_now(RequestHandle request, byte[] baseUrl, CredentialsHandle credentials, out PreparedRequestHandle prepared, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern void yx_prepared_request_free(IntPtr prepared);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_prepared_request_endpoint(PreparedRequestHandle prepared);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_prepared_request_method(PreparedRequestHandle prepared);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_prepared_request_url(PreparedRequestHandle prepared);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_prepared_request_body(PreparedRequestHandle prepared);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern UIntPtr yx_prepared_request_header_count(PreparedRequestHandle prepared);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_prepared_request_header_name(PreparedRequestHandle prepared, UIntPtr index);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_prepared_request_header_value(PreparedRequestHandle prepared, UIntPtr index);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_endpoint_code(int endpoint);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_endpoint_path(int endpoint);

        // ---- responses, records, codes ----
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_parse_start_response(int endpoint, ushort httpStatus, byte[] body, UIntPtr bodyLen, out IntPtr session, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_parse_query_response(ushort httpStatus, byte[] body, UIntPtr bodyLen, out CallRecordHandle record, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern void yx_call_record_free(IntPtr record);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_call_record_session(CallRecordHandle record);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_call_record_init_account(CallRecordHandle record);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_call_record_caller(CallRecordHandle record);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_call_record_callee(CallRecordHandle record);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_call_record_start_time(CallRecordHandle record);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_call_record_status(CallRecordHandle record);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_call_record_duration_sec(CallRecordHandle record, out ulong duration);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_call_record_create_time_ms(CallRecordHandle record, out ulong createTime);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_call_record_answered(CallRecordHandle record);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern ulong yx_call_record_billed_minutes(CallRecordHandle record);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern ulong yx_call_record_cost_fen(CallRecordHandle record, ulong fenPerMinute);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_call_record_is_conference(CallRecordHandle record);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern UIntPtr yx_call_record_member_count(CallRecordHandle record);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_call_record_member(CallRecordHandle record, UIntPtr index);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern UIntPtr yx_call_record_leg_count(CallRecordHandle record);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_call_record_leg_endpoint(CallRecordHandle record, UIntPtr index);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_call_record_leg_end_time(CallRecordHandle record, UIntPtr index);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_call_record_leg_hang_cause(CallRecordHandle record, UIntPtr index);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_call_record_to_json(CallRecordHandle record, out IntPtr json, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_code_meaning(long code);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_code_retry_advice(long code, int endpoint);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_code_table_json(out IntPtr json, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern ulong yx_billed_minutes(ulong durationSec);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern ulong yx_cost_fen(ulong durationSec, ulong fenPerMinute);

        // ---- callbacks ----
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_callback_verifier_new(CredentialsHandle credentials, ulong toleranceMs, out CallbackVerifierHandle verifier, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_callback_verifier_new_skip_time_check(CredentialsHandle credentials, out CallbackVerifierHandle verifier, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern void yx_callback_verifier_free(IntPtr verifier);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern ulong yx_default_callback_tolerance_ms();
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_callback_verifier_verify(CallbackVerifierHandle verifier, byte[] body, UIntPtr bodyLen, Header[] headers, UIntPtr headerCount, ulong nowMs, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_callback_verifier_verify_now(CallbackVerifierHandle verifier, byte[] body, UIntPtr bodyLen, Header[] headers, UIntPtr headerCount, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_callback_verifier_verify_and_parse(CallbackVerifierHandle verifier, byte[] body, UIntPtr bodyLen, Header[] headers, UIntPtr headerCount, ulong nowMs, out CallbackEventHandle evt, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_callback_verifier_verify_and_parse_now(CallbackVerifierHandle verifier, byte[] body, UIntPtr bodyLen, Header[] headers, UIntPtr headerCount, out CallbackEventHandle evt, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_callback_parse(byte[] body, UIntPtr bodyLen, out CallbackEventHandle evt, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern void yx_callback_event_free(IntPtr evt);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_callback_event_kind(CallbackEventHandle evt);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_callback_event_type(CallbackEventHandle evt);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_callback_event_raw(CallbackEventHandle evt);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_callback_event_record(CallbackEventHandle evt, out CallRecordHandle record, out IntPtr err);

        // ---- server side ----
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_server_verify_request(CredentialsHandle credentials, Header[] headers, UIntPtr headerCount, ulong nowSecs, ulong windowSecs, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_server_parse_request(byte[] path, byte[] query, byte[] body, UIntPtr bodyLen, out RequestHandle request, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_server_reply_bad_http_header(out IntPtr body, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_server_reply_bad_param(byte[] field, out IntPtr body, out IntPtr err);

        // ---- client ----
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_client_builder_new(CredentialsHandle credentials, out ClientBuilderHandle builder, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern void yx_client_builder_free(IntPtr builder);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_client_builder_set_base_url(ClientBuilderHandle builder, byte[] baseUrl, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_client_builder_set_connect_timeout_ms(ClientBuilderHandle builder, ulong timeoutMs, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_client_builder_set_timeout_ms(ClientBuilderHandle builder, ulong timeoutMs, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_client_builder_set_max_retries(ClientBuilderHandle builder, uint maxRetries, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_client_builder_set_backoff_ms(ClientBuilderHandle builder, ulong backoffMs, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_client_builder_set_max_response_bytes(ClientBuilderHandle builder, ulong maxBytes, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_client_builder_build(ClientBuilderHandle builder, out ClientHandle client, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern void yx_client_free(IntPtr client);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_client_base_url(ClientHandle client);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_client_start(ClientHandle client, RequestHandle request, out IntPtr session, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_client_query(ClientHandle client, RequestHandle request, out CallRecordHandle record, out IntPtr err);

        // ---- mock ----
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_mock_sample_app_key();
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_mock_sample_app_secret();
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_mock_server_start(out MockServerHandle server, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern void yx_mock_server_free(IntPtr server);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_mock_server_base_url(MockServerHandle server);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_mock_server_inbox_url(MockServerHandle server);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_mock_server_set_outcome_answered(MockServerHandle server, byte[] number, ulong durationSec, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_mock_server_set_outcome_no_answer(MockServerHandle server, byte[] number, byte[] hangCause, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_mock_server_inject_fault(MockServerHandle server, byte[] kind, uint times, ulong ms, UIntPtr bytes, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_mock_server_set_callback_url(MockServerHandle server, byte[] url, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_mock_server_set_ecp_enabled(MockServerHandle server, int enabled, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_mock_server_reset(MockServerHandle server, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_mock_server_clear_faults(MockServerHandle server, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern ulong yx_mock_server_start_count(MockServerHandle server);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern ulong yx_mock_server_session_count(MockServerHandle server);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_mock_server_stats_json(MockServerHandle server, out IntPtr json, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_mock_server_callbacks_json(MockServerHandle server, out IntPtr json, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_mock_server_wait_for_inbox(MockServerHandle server, UIntPtr count, ulong timeoutMs, out UIntPtr received, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_mock_server_inbox_get(MockServerHandle server, UIntPtr index, out ReceivedCallbackHandle received, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern void yx_received_callback_free(IntPtr received);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_received_callback_body(ReceivedCallbackHandle received);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern UIntPtr yx_received_callback_body_len(ReceivedCallbackHandle received);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_received_callback_headers(ReceivedCallbackHandle received);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern UIntPtr yx_received_callback_header_count(ReceivedCallbackHandle received);
    }

    /// <summary>Functions without a handle.</summary>
    public static class Ecp
    {
        /// <summary>The ABI version this binding speaks.</summary>
        public const uint AbiVersion = 1;

        /// <summary>The library's version, e.g. "0.1.0".</summary>
        public static string Version
        {
            get { return Native.Borrowed(Native.yx_version()); }
        }

        /// <summary>The loaded library's ABI version (compare with AbiVersion).</summary>
        public static uint LibraryAbiVersion
        {
            get { return Native.yx_abi_version(); }
        }

        /// <summary>Lowercase hex SHA1(secret + nonce + curTime) over UTF-8: the bare CheckSum.</summary>
        public static string Checksum(string secret, string nonce, string curTime)
        {
            IntPtr sum, err;
            Native.Check(Native.yx_checksum(Native.Utf8(secret, "secret"), Native.Utf8(nonce, "nonce"), Native.Utf8(curTime, "curTime"), out sum, out err), err);
            return Native.Take(sum);
        }

        /// <summary>Lowercase hex MD5 of raw bytes, hex-encoded once: 32 characters.</summary>
        public static string BodyMd5(byte[] body)
        {
            IntPtr md5, err;
            Native.Check(Native.yx_body_md5(body, Length(body), out md5, out err), err);
            return Native.Take(md5);
        }

        /// <summary>A nonce of lowercase hex characters from the OS CSPRNG.</summary>
        public static string GenerateNonce(int length = 32)
        {
            IntPtr nonce, err;
            Native.Check(Native.yx_generate_nonce(new UIntPtr((uint)Math.Max(length, 0)), out nonce, out err), err);
            return Native.Take(nonce);
        }

        /// <summary>What a service code means.</summary>
        public static string CodeMeaning(long code)
        {
            return Native.Borrowed(Native.yx_code_meaning(code));
        }

        /// <summary>Whether a request to endpoint answered code may be sent again ("never", "safe", ...).</summary>
        public static string CodeRetryAdvice(long code, int endpoint)
        {
            return Native.Borrowed(Native.yx_retry_advice_code(Native.yx_code_retry_advice(code, endpoint)));
        }

        /// <summary>The code table as a JSON array.</summary>
        public static string CodeTableJson()
        {
            IntPtr json, err;
            Native.Check(Native.yx_code_table_json(out json, out err), err);
            return Native.Take(json);
        }

        public static ulong BilledMinutes(ulong durationSec)
        {
            return Native.yx_billed_minutes(durationSec);
        }

        public static ulong CostFen(ulong durationSec, ulong fenPerMinute = 12)
        {
            return Native.yx_cost_fen(durationSec, fenPerMinute);
        }

        /// <summary>Reads a start answer (Endpoint.StartCall or StartConf); returns the session.</summary>
        public static string ParseStartResponse(int endpoint, int httpStatus, byte[] body)
        {
            IntPtr session, err;
            Native.Check(Native.yx_parse_start_response(endpoint, checked((ushort)httpStatus), body, Length(body), out session, out err), err);
            return Native.Take(session);
        }

        /// <summary>Reads a queryBySession answer into the record.</summary>
        public static CallRecord ParseQueryResponse(int httpStatus, byte[] body)
        {
            CallRecordHandle record;
            IntPtr err;
            Native.Check(Native.yx_parse_query_response(checked((ushort)httpStatus), body, Length(body), out record, out err), err);
            return CallRecord.From(record);
        }

        /// <summary>Parses a callback body without verifying it (for bodies verified already).</summary>
        public static CallbackEvent ParseCallback(byte[] body)
        {
            CallbackEventHandle evt;
            IntPtr err;
            Native.Check(Native.yx_callback_parse(body, Length(body), out evt, out err), err);
            return CallbackEvent.From(evt);
        }

        /// <summary>Server side: checks an incoming request's auth headers; throws AuthException.</summary>
        public static void VerifyRequest(Credentials app, IEnumerable<KeyValuePair<string, string>> headers, ulong nowSecs, ulong windowSecs = 300)
        {
            using (var strings = new Native.Strings())
            {
                Header[] array = strings.Headers(headers);
                IntPtr err;
                Native.Check(Native.yx_server_verify_request(app.Handle, array, new UIntPtr((uint)array.Length), nowSecs, windowSecs, out err), err);
            }
        }

        /// <summary>Server side: reads the parameters of a request to path, as JSON
        /// {"request":...,"params":{...}}; throws ValidationException.</summary>
        public static string ParseServerRequestJson(string path, string query, byte[] body)
        {
            RequestHandle request;
            IntPtr err;
            Native.Check(Native.yx_server_parse_request(Native.Utf8(path, "path"), Native.Utf8(query, "query"), body, Length(body), out request, out err), err);
            using (var r = new EcpRequest(request))
            {
                return r.ToJson();
            }
        }

        /// <summary>{"desc":"bad http header","code":414}</summary>
        public static string ReplyBadHttpHeader()
        {
            IntPtr body, err;
            Native.Check(Native.yx_server_reply_bad_http_header(out body, out err), err);
            return Native.Take(body);
        }

        /// <summary>{"code":414,"msg":"bad param '&lt;field&gt;'"}</summary>
        public static string ReplyBadParam(string field)
        {
            IntPtr body, err;
            Native.Check(Native.yx_server_reply_bad_param(Native.Utf8(field, "field"), out body, out err), err);
            return Native.Take(body);
        }

        internal static UIntPtr Length(byte[] bytes)
        {
            return new UIntPtr((uint)(bytes == null ? 0 : bytes.Length));
        }
    }

    /// <summary>An app key and secret. Dispose wipes the secret from native memory.</summary>
    public sealed class Credentials : IDisposable
    {
        internal readonly CredentialsHandle Handle;

        public Credentials(string appKey, string appSecret)
        {
            IntPtr err;
            Native.Check(Native.yx_credentials_new(Native.Utf8(appKey, "appKey"), Native.Utf8(appSecret, "appSecret"), out Handle, out err), err);
        }

        private Credentials(CredentialsHandle handle)
        {
            Handle = handle;
        }

        /// <summary>Reads YUNXIN_APP_KEY and YUNXIN_APP_SECRET.</summary>
        public static Credentials FromEnvironment()
        {
            CredentialsHandle handle;
            IntPtr err;
            Native.Check(Native.yx_credentials_from_env(out handle, out err), err);
            return new Credentials(handle);
        }

        public string AppKey
        {
            get { return Native.Borrowed(Native.yx_credentials_app_key(Handle)); }
        }

        /// <summary>Signs with a given nonce and CurTime (seconds): what the vectors test.</summary>
        public AuthHeaders Sign(string nonce, ulong curTime)
        {
            AuthHeadersHandle headers;
            IntPtr err;
            Native.Check(Native.yx_credentials_sign(Handle, Native.Utf8(nonce, "nonce"), curTime, out headers, out err), err);
            return new AuthHeaders(headers);
        }

        /// <summary>Signs with a fresh nonce and one reading of the clock: once per request.</summary>
        public AuthHeaders SignNow()
        {
            AuthHeadersHandle headers;
            IntPtr err;
            Native.Check(Native.yx_credentials_sign_now(Handle, out headers, out err), err);
            return new AuthHeaders(headers);
        }

        /// <summary>Shows the app key only.</summary>
        public override string ToString()
        {
            return "AppKey " + AppKey + " (secret redacted)";
        }

        public void Dispose()
        {
            Handle.Dispose();
        }
    }

    /// <summary>The four auth headers of one request.</summary>
    public sealed class AuthHeaders : IDisposable
    {
        internal readonly AuthHeadersHandle Handle;

        internal AuthHeaders(AuthHeadersHandle handle)
        {
            Handle = handle;
        }

        public string AppKey { get { return Native.Borrowed(Native.yx_auth_headers_app_key(Handle)); } }
        public string Nonce { get { return Native.Borrowed(Native.yx_auth_headers_nonce(Handle)); } }
        public string CurTime { get { return Native.Borrowed(Native.yx_auth_headers_cur_time(Handle)); } }
        public string CheckSum { get { return Native.Borrowed(Native.yx_auth_headers_checksum(Handle)); } }

        /// <summary>The headers in the documented order.</summary>
        public KeyValuePair<string, string>[] Pairs
        {
            get
            {
                return new[]
                {
                    new KeyValuePair<string, string>("AppKey", AppKey),
                    new KeyValuePair<string, string>("Nonce", Nonce),
                    new KeyValuePair<string, string>("CurTime", CurTime),
                    new KeyValuePair<string, string>("CheckSum", CheckSum),
                };
            }
        }

        public void Dispose()
        {
            Handle.Dispose();
        }
    }

    /// <summary>A request ready for any HTTP client.</summary>
    public sealed class PreparedRequest
    {
        public string Endpoint { get; private set; }
        public string Method { get; private set; }
        public string Url { get; private set; }
        public KeyValuePair<string, string>[] Headers { get; private set; }
        public string Body { get; private set; }

        internal static PreparedRequest From(PreparedRequestHandle handle)
        {
            using (handle)
            {
                int count = (int)Native.yx_prepared_request_header_count(handle).ToUInt32();
                var headers = new KeyValuePair<string, string>[count];
                for (int i = 0; i < count; i++)
                {
                    var index = new UIntPtr((uint)i);
                    headers[i] = new KeyValuePair<string, string>(
                        Native.Borrowed(Native.yx_prepared_request_header_name(handle, index)),
                        Native.Borrowed(Native.yx_prepared_request_header_value(handle, index)));
                }
                return new PreparedRequest
                {
                    Endpoint = Native.Borrowed(Native.yx_endpoint_code(Native.yx_prepared_request_endpoint(handle))),
                    Method = Native.Borrowed(Native.yx_prepared_request_method(handle)),
                    Url = Native.Borrowed(Native.yx_prepared_request_url(handle)),
                    Body = Native.Borrowed(Native.yx_prepared_request_body(handle)),
                    Headers = headers,
                };
            }
        }
    }

    /// <summary>A validated ECP request.</summary>
    public sealed class EcpRequest : IDisposable
    {
        internal readonly RequestHandle Handle;

        internal EcpRequest(RequestHandle handle)
        {
            Handle = handle;
        }

        /// <summary>A callback call: rings caller, then callee, for at most maxDur seconds.</summary>
        public static EcpRequest StartCall(string callerAcc, string caller, string callee, uint maxDur)
        {
            RequestHandle handle;
            IntPtr err;
            Native.Check(Native.yx_start_call_new(Native.Utf8(callerAcc, "callerAcc"), Native.Utf8(caller, "caller"), Native.Utf8(callee, "callee"), maxDur, out handle, out err), err);
            return new EcpRequest(handle);
        }

        /// <summary>A conference of caller and 2 to 7 callees, sent as a real JSON array.</summary>
        public static EcpRequest StartConf(string callerAcc, string caller, IList<string> callees, uint maxDur)
        {
            using (var strings = new Native.Strings())
            {
                IntPtr[] array = callees == null ? null : strings.Array(callees, "callees");
                RequestHandle handle;
                IntPtr err;
                Native.Check(Native.yx_start_conf_new(Native.Utf8(callerAcc, "callerAcc"), Native.Utf8(caller, "caller"), array, new UIntPtr((uint)(array == null ? 0 : array.Length)), maxDur, out handle, out err), err);
                return new EcpRequest(handle);
            }
        }

        /// <summary>A query for one session (SessionKind.Call or SessionKind.Conference).</summary>
        public static EcpRequest Query(string session, int kind)
        {
            RequestHandle handle;
            IntPtr err;
            Native.Check(Native.yx_query_new(Native.Utf8(session, "session"), kind, out handle, out err), err);
            return new EcpRequest(handle);
        }

        public int Endpoint
        {
            get { return Native.yx_request_endpoint(Handle); }
        }

        public string FormBody()
        {
            IntPtr body, err;
            Native.Check(Native.yx_request_form_body(Handle, out body, out err), err);
            return Native.Take(body);
        }

        /// <summary>{"request":"start_call","params":{...}}</summary>
        public string ToJson()
        {
            IntPtr json, err;
            Native.Check(Native.yx_request_to_json(Handle, out json, out err), err);
            return Native.Take(json);
        }

        /// <summary>The request with given auth headers (baseUrl null: the production gateway).</summary>
        public PreparedRequest Prepare(string baseUrl, AuthHeaders auth)
        {
            PreparedRequestHandle prepared;
            IntPtr err;
            Native.Check(Native.yx_request_prepare(Handle, Native.Utf8(baseUrl, "baseUrl"), auth.Handle, out prepared, out err), err);
            return PreparedRequest.From(prepared);
        }

        /// <summary>Signs now, then prepares: once per attempt.</summary>
        public PreparedRequest PrepareNow(string baseUrl, Credentials credentials)
        {
            PreparedRequestHandle prepared;
            IntPtr err;
            Native.Check(Native.yx_request_prepare_now(Handle, Native.Utf8(baseUrl, "baseUrl"), credentials.Handle, out prepared, out err), err);
            return PreparedRequest.From(prepared);
        }

        public void Dispose()
        {
            Handle.Dispose();
        }
    }

    /// <summary>One leg of a two-party call.</summary>
    public sealed class Leg
    {
        public string Endpoint { get; internal set; }
        public string EndTime { get; internal set; }
        public string HangCause { get; internal set; }
    }

    /// <summary>A call or conference record. Use Answered, not Status: the service reports
    /// "SUCCESS" even when nobody picked up.</summary>
    public sealed class CallRecord
    {
        public string Session { get; private set; }
        public string InitAccount { get; private set; }
        public string Caller { get; private set; }
        public string Callee { get; private set; }
        /// <summary>The conference members, or null for a two-party call.</summary>
        public string[] Members { get; private set; }
        public ulong? CreateTimeMs { get; private set; }
        public string StartTime { get; private set; }
        public ulong? DurationSec { get; private set; }
        public string Status { get; private set; }
        public Leg[] Legs { get; private set; }
        public bool Answered { get; private set; }
        public ulong BilledMinutes { get; private set; }
        /// <summary>The cost in fen at the published 0.12 yuan a minute.</summary>
        public ulong CostFen { get; private set; }
        public bool IsConference { get; private set; }
        /// <summary>The whole record as JSON, including the raw fields this type does not model.</summary>
        public string Json { get; private set; }

        internal static CallRecord From(CallRecordHandle handle)
        {
            using (handle)
            {
                ulong duration, created;
                bool hasDuration = Native.yx_call_record_duration_sec(handle, out duration) != 0;
                bool hasCreated = Native.yx_call_record_create_time_ms(handle, out created) != 0;
                bool conference = Native.yx_call_record_is_conference(handle) != 0;
                string[] members = null;
                if (conference)
                {
                    members = new string[(int)Native.yx_call_record_member_count(handle).ToUInt32()];
                    for (int i = 0; i < members.Length; i++)
                    {
                        members[i] = Native.Borrowed(Native.yx_call_record_member(handle, new UIntPtr((uint)i)));
                    }
                }
                var legs = new Leg[(int)Native.yx_call_record_leg_count(handle).ToUInt32()];
                for (int i = 0; i < legs.Length; i++)
                {
                    var index = new UIntPtr((uint)i);
                    legs[i] = new Leg
                    {
                        Endpoint = Native.Borrowed(Native.yx_call_record_leg_endpoint(handle, index)),
                        EndTime = Native.Borrowed(Native.yx_call_record_leg_end_time(handle, index)),
                        HangCause = Native.Borrowed(Native.yx_call_record_leg_hang_cause(handle, index)),
                    };
                }
                IntPtr json, err;
                Native.Check(Native.yx_call_record_to_json(handle, out json, out err), err);
                return new CallRecord
                {
                    Session = Native.Borrowed(Native.yx_call_record_session(handle)),
                    InitAccount = Native.Borrowed(Native.yx_call_record_init_account(handle)),
                    Caller = Native.Borrowed(Native.yx_call_record_caller(handle)),
                    Callee = Native.Borrowed(Native.yx_call_record_callee(handle)),
                    Members = members,
                    CreateTimeMs = hasCreated ? created : (ulong?)null,
                    StartTime = Native.Borrowed(Native.yx_call_record_start_time(handle)),
                    DurationSec = hasDuration ? duration : (ulong?)null,
                    Status = Native.Borrowed(Native.yx_call_record_status(handle)),
                    Legs = legs,
                    Answered = Native.yx_call_record_answered(handle) != 0,
                    BilledMinutes = Native.yx_call_record_billed_minutes(handle),
                    CostFen = Native.yx_call_record_cost_fen(handle, 12),
                    IsConference = conference,
                    Json = Native.Take(json),
                };
            }
        }
    }

    /// <summary>What a callback carried: a call-end record, or another event passed through.</summary>
    public sealed class CallbackEvent
    {
        /// <summary>True for eventType 10 (Record is set); false for other events (Raw is set).</summary>
        public bool IsCallEnd { get; private set; }
        public string EventType { get; private set; }
        public string Raw { get; private set; }
        public CallRecord Record { get; private set; }

        internal static CallbackEvent From(CallbackEventHandle handle)
        {
            using (handle)
            {
                var evt = new CallbackEvent
                {
                    IsCallEnd = Native.yx_callback_event_kind(handle) == 1,
                    EventType = Native.Borrowed(Native.yx_callback_event_type(handle)),
                    Raw = Native.Borrowed(Native.yx_callback_event_raw(handle)),
                };
                if (evt.IsCallEnd)
                {
                    CallRecordHandle record;
                    IntPtr err;
                    Native.Check(Native.yx_callback_event_record(handle, out record, out err), err);
                    evt.Record = CallRecord.From(record);
                }
                return evt;
            }
        }
    }

    /// <summary>Verifies call-end callbacks for one app; one instance may serve all threads.</summary>
    public sealed class CallbackVerifier : IDisposable
    {
        private readonly CallbackVerifierHandle handle;

        /// <summary>Refuses callbacks whose CurTime is more than toleranceMs away (0 is not "off").</summary>
        public CallbackVerifier(Credentials credentials, ulong toleranceMs = 300000)
        {
            IntPtr err;
            Native.Check(Native.yx_callback_verifier_new(credentials.Handle, toleranceMs, out handle, out err), err);
        }

        private CallbackVerifier(CallbackVerifierHandle handle)
        {
            this.handle = handle;
        }

        /// <summary>Does not check CurTime: only for re-verifying stored callbacks.</summary>
        public static CallbackVerifier SkipTimeCheck(Credentials credentials)
        {
            CallbackVerifierHandle handle;
            IntPtr err;
            Native.Check(Native.yx_callback_verifier_new_skip_time_check(credentials.Handle, out handle, out err), err);
            return new CallbackVerifier(handle);
        }

        /// <summary>Verifies the raw body bytes against the headers at nowMs (null: now);
        /// throws CallbackException.</summary>
        public void Verify(byte[] body, IEnumerable<KeyValuePair<string, string>> headers, ulong? nowMs = null)
        {
            using (var strings = new Native.Strings())
            {
                Header[] array = strings.Headers(headers);
                var count = new UIntPtr((uint)array.Length);
                IntPtr err;
                int result = nowMs.HasValue
                    ? Native.yx_callback_verifier_verify(handle, body, Ecp.Length(body), array, count, nowMs.Value, out err)
                    : Native.yx_callback_verifier_verify_now(handle, body, Ecp.Length(body), array, count, out err);
                Native.Check(result, err);
            }
        }

        /// <summary>Verifies, then parses: the usual entry point of a web handler.</summary>
        public CallbackEvent VerifyAndParse(byte[] body, IEnumerable<KeyValuePair<string, string>> headers, ulong? nowMs = null)
        {
            using (var strings = new Native.Strings())
            {
                Header[] array = strings.Headers(headers);
                var count = new UIntPtr((uint)array.Length);
                CallbackEventHandle evt;
                IntPtr err;
                int result = nowMs.HasValue
                    ? Native.yx_callback_verifier_verify_and_parse(handle, body, Ecp.Length(body), array, count, nowMs.Value, out evt, out err)
                    : Native.yx_callback_verifier_verify_and_parse_now(handle, body, Ecp.Length(body), array, count, out evt, out err);
                Native.Check(result, err);
                return CallbackEvent.From(evt);
            }
        }

        public void Dispose()
        {
            handle.Dispose();
        }
    }

    /// <summary>Settings of an EcpClient; null keeps the library's default.</summary>
    public sealed class ClientOptions
    {
        /// <summary>Default https://api.netease.im; a local mock's URL in tests.</summary>
        public string BaseUrl { get; set; }
        /// <summary>Default 5000.</summary>
        public ulong? ConnectTimeoutMs { get; set; }
        /// <summary>Default 15000, per attempt.</summary>
        public ulong? TimeoutMs { get; set; }
        /// <summary>Default 2, only where a retry cannot place a second call.</summary>
        public uint? MaxRetries { get; set; }
        /// <summary>Default 200, doubling per retry.</summary>
        public ulong? BackoffMs { get; set; }
        /// <summary>Default 1048576; a longer answer is a ProtocolException (Reason "too_large").</summary>
        public ulong? MaxResponseBytes { get; set; }
    }

    /// <summary>The blocking client: pooled connections, verified TLS, timeouts, safe retries.
    /// One per process, shared by all threads.</summary>
    public sealed class EcpClient : IDisposable
    {
        private readonly ClientHandle handle;

        public EcpClient(Credentials credentials, ClientOptions options)
        {
            ClientBuilderHandle builder;
            IntPtr err;
            Native.Check(Native.yx_client_builder_new(credentials.Handle, out builder, out err), err);
            using (builder)
            {
                options = options ?? new ClientOptions();
                if (options.BaseUrl != null)
                {
                    Native.Check(Native.yx_client_builder_set_base_url(builder, Native.Utf8(options.BaseUrl, "BaseUrl"), out err), err);
                }
                if (options.ConnectTimeoutMs.HasValue)
                {
                    Native.Check(Native.yx_client_builder_set_connect_timeout_ms(builder, options.ConnectTimeoutMs.Value, out err), err);
                }
                if (options.TimeoutMs.HasValue)
                {
                    Native.Check(Native.yx_client_builder_set_timeout_ms(builder, options.TimeoutMs.Value, out err), err);
                }
                if (options.MaxRetries.HasValue)
                {
                    Native.Check(Native.yx_client_builder_set_max_retries(builder, options.MaxRetries.Value, out err), err);
                }
                if (options.BackoffMs.HasValue)
                {
                    Native.Check(Native.yx_client_builder_set_backoff_ms(builder, options.BackoffMs.Value, out err), err);
                }
                if (options.MaxResponseBytes.HasValue)
                {
                    Native.Check(Native.yx_client_builder_set_max_response_bytes(builder, options.MaxResponseBytes.Value, out err), err);
                }
                Native.Check(Native.yx_client_builder_build(builder, out handle, out err), err);
            }
        }

        public string BaseUrl
        {
            get { return Native.Borrowed(Native.yx_client_base_url(handle)); }
        }

        /// <summary>Places a call; returns the session. On an exception, read RetryAdvice:
        /// "outcome_unknown" means the call may exist, so query before placing it again.</summary>
        public string StartCall(string callerAcc, string caller, string callee, uint maxDur)
        {
            using (var request = EcpRequest.StartCall(callerAcc, caller, callee, maxDur))
            {
                return Start(request);
            }
        }

        /// <summary>Places a conference; returns the session.</summary>
        public string StartConf(string callerAcc, string caller, IList<string> callees, uint maxDur)
        {
            using (var request = EcpRequest.StartConf(callerAcc, caller, callees, maxDur))
            {
                return Start(request);
            }
        }

        /// <summary>Sends a start request.</summary>
        public string Start(EcpRequest request)
        {
            IntPtr session, err;
            Native.Check(Native.yx_client_start(handle, request.Handle, out session, out err), err);
            return Native.Take(session);
        }

        /// <summary>The record of a call (SessionKind.Call) or conference (SessionKind.Conference).</summary>
        public CallRecord Query(string session, int kind)
        {
            using (var request = EcpRequest.Query(session, kind))
            {
                CallRecordHandle record;
                IntPtr err;
                Native.Check(Native.yx_client_query(handle, request.Handle, out record, out err), err);
                return CallRecord.From(record);
            }
        }

        public void Dispose()
        {
            handle.Dispose();
        }
    }

    /// <summary>A POST the mock's inbox received, exactly as received.</summary>
    public sealed class ReceivedCallback
    {
        public byte[] Body { get; internal set; }
        public KeyValuePair<string, string>[] Headers { get; internal set; }
    }

    /// <summary>The local mock of the ECP API, in-process on an ephemeral port of 127.0.0.1.
    /// Dispose stops it.</summary>
    public sealed class MockServer : IDisposable
    {
        private readonly MockServerHandle handle;

        private MockServer(MockServerHandle handle)
        {
            this.handle = handle;
        }

        public static string SampleAppKey { get { return Native.Borrowed(Native.yx_mock_sample_app_key()); } }
        public static string SampleAppSecret { get { return Native.Borrowed(Native.yx_mock_sample_app_secret()); } }

        public static MockServer Start()
        {
            MockServerHandle handle;
            IntPtr err;
            Native.Check(Native.yx_mock_server_start(out handle, out err), err);
            return new MockServer(handle);
        }

        public string BaseUrl { get { return Native.Borrowed(Native.yx_mock_server_base_url(handle)); } }
        public string InboxUrl { get { return Native.Borrowed(Native.yx_mock_server_inbox_url(handle)); } }
        public ulong StartCount { get { return Native.yx_mock_server_start_count(handle); } }
        /// <summary>Calls and conferences placed; each gets a call-end callback.</summary>
        public ulong SessionCount { get { return Native.yx_mock_server_session_count(handle); } }

        public void SetOutcomeAnswered(string number, ulong durationSec)
        {
            IntPtr err;
            Native.Check(Native.yx_mock_server_set_outcome_answered(handle, Native.Utf8(number, "number"), durationSec, out err), err);
        }

        public void SetOutcomeNoAnswer(string number, string hangCause)
        {
            IntPtr err;
            Native.Check(Native.yx_mock_server_set_outcome_no_answer(handle, Native.Utf8(number, "number"), Native.Utf8(hangCause, "hangCause"), out err), err);
        }

        public void InjectFault(string kind, uint times = 1, ulong ms = 0, uint bytes = 0)
        {
            IntPtr err;
            Native.Check(Native.yx_mock_server_inject_fault(handle, Native.Utf8(kind, "kind"), times, ms, new UIntPtr(bytes), out err), err);
        }

        public void ClearFaults()
        {
            IntPtr err;
            Native.Check(Native.yx_mock_server_clear_faults(handle, out err), err);
        }

        public void SetCallbackUrl(string url)
        {
            IntPtr err;
            Native.Check(Native.yx_mock_server_set_callback_url(handle, Native.Utf8(url, "url"), out err), err);
        }

        public void SetEcpEnabled(bool enabled)
        {
            IntPtr err;
            Native.Check(Native.yx_mock_server_set_ecp_enabled(handle, enabled ? 1 : 0, out err), err);
        }

        public void Reset()
        {
            IntPtr err;
            Native.Check(Native.yx_mock_server_reset(handle, out err), err);
        }

        public string StatsJson()
        {
            IntPtr json, err;
            Native.Check(Native.yx_mock_server_stats_json(handle, out json, out err), err);
            return Native.Take(json);
        }

        public string CallbacksJson()
        {
            IntPtr json, err;
            Native.Check(Native.yx_mock_server_callbacks_json(handle, out json, out err), err);
            return Native.Take(json);
        }

        /// <summary>Waits for at least count inbox POSTs (or the timeout); returns how many arrived.</summary>
        public int WaitForInbox(int count, ulong timeoutMs)
        {
            UIntPtr received;
            IntPtr err;
            Native.Check(Native.yx_mock_server_wait_for_inbox(handle, new UIntPtr((uint)count), timeoutMs, out received, out err), err);
            return (int)received.ToUInt32();
        }

        public ReceivedCallback Inbox(int index)
        {
            ReceivedCallbackHandle received;
            IntPtr err;
            Native.Check(Native.yx_mock_server_inbox_get(handle, new UIntPtr((uint)index), out received, out err), err);
            using (received)
            {
                var body = new byte[(int)Native.yx_received_callback_body_len(received).ToUInt32()];
                if (body.Length > 0)
                {
                    Marshal.Copy(Native.yx_received_callback_body(received), body, 0, body.Length);
                }
                IntPtr array = Native.yx_received_callback_headers(received);
                var headers = new KeyValuePair<string, string>[(int)Native.yx_received_callback_header_count(received).ToUInt32()];
                int size = Marshal.SizeOf(typeof(Header));
                for (int i = 0; i < headers.Length; i++)
                {
                    var header = (Header)Marshal.PtrToStructure(new IntPtr(array.ToInt64() + (long)i * size), typeof(Header));
                    headers[i] = new KeyValuePair<string, string>(Native.Borrowed(header.Name), Native.Borrowed(header.Value));
                }
                return new ReceivedCallback { Body = body, Headers = headers };
            }
        }

        public void Dispose()
        {
            handle.Dispose();
        }
    }
}
