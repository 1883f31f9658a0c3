// yunxin_ecp for C#: YunXin's CheckSum signing and the ECP (专线电话) API through P/Invoke and
// libyunxin_ecp, instead of the documentation's hand-rolled CheckSumBuilder.
//
// Building and running with Mono (mcs compiles C# 7.2; the wrapper needs System.Runtime.Serialization
// and System.Xml, System itself is referenced by default); libyunxin_ecp.so comes from
// cargo build --release -p yunxin-ecp-ffi (target/release/libyunxin_ecp.so). From the repository:
//
//     mcs -langversion:7.2 -r:System.Runtime.Serialization.dll -r:System.Xml.dll \
//         -out:StartCall.exe csharp/YunxinEcp.cs examples/csharp/StartCall.cs
//     LD_LIBRARY_PATH=target/release mono StartCall.exe
//     mcs -langversion:7.2 -r:System.Runtime.Serialization.dll -r:System.Xml.dll \
//         -out:CallbackVerification.exe csharp/YunxinEcp.cs examples/csharp/CallbackVerification.cs
//     LD_LIBRARY_PATH=target/release mono CallbackVerification.exe
//
// An app, with this file compiled in:
//
//     mcs -langversion:7.2 -r:System.Runtime.Serialization.dll -r:System.Xml.dll \
//         -out:YourApp.exe YunxinEcp.cs YourApp.cs
//     LD_LIBRARY_PATH=/opt/yunxin/lib mono YourApp.exe       # the directory of libyunxin_ecp.so
//
// or with it as a library of its own:
//
//     mcs -target:library -langversion:7.2 -r:System.Runtime.Serialization.dll -r:System.Xml.dll \
//         -out:YunxinEcp.dll YunxinEcp.cs
//     mcs -r:YunxinEcp.dll -out:YourApp.exe YourApp.cs
//     LD_LIBRARY_PATH=/opt/yunxin/lib mono YourApp.exe       # the directory of libyunxin_ecp.so
//
// Instead of LD_LIBRARY_PATH: libyunxin_ecp.so beside YourApp.exe, or installed (e.g. in
// /usr/local/lib, then ldconfig), or a Mono dllmap in the .config of the assembly holding this
// file (YourApp.exe.config, or YunxinEcp.dll.config beside YunxinEcp.dll):
//
//     <configuration>
//       <dllmap dll="yunxin_ecp" target="/opt/yunxin/lib/libyunxin_ecp.so"/>
//     </configuration>
//
// On .NET, NativeLibrary.SetDllImportResolver does what the dllmap does. When the library is not
// found, the first call says so in a DllNotFoundException with these hints; a library of another
// ABI version than Ecp.AbiVersion is refused at the first call (InvalidOperationException).
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
// the boundary (the ABI uses int32_t). Errors, call records and callback events are read from
// the library's JSON of them (yx_*_to_json) with DataContractJsonSerializer, which Mono and .NET
// (Core, 5+) both ship: the JSON is what every language's binding reads, so the fields cannot
// drift apart, and the ABI keeps accessors only for what C acts on. Every failure is a
// YunxinEcpException subclass carrying the result kind, the API code and message, the retry
// advice and whether the request may have been sent. CallbackVerifier takes the headers as a
// server gives them (pairs, a NameValueCollection, names with lists of values) and passes every
// value on its own, so a header sent twice is refused. A web handler reads the body through
// CallbackVerifier.ReadBody (VerifyAndParse(HttpListenerRequest) does): at most 1 MiB by default,
// a bigger one refused unread or as soon as it is past the cap, as a BodyTooLargeException whose
// AnswerStatus is 413 (a callback is a few KiB; anyone can reach the endpoint). A verifier takes 1
// to 8 credentials (an AppSecret rotation: new CallbackVerifier(new[] { old, fresh })) and Verify
// says which matched (a Delivery); CallbackVerifier.Handle runs a handler once per delivery,
// however often it is delivered (a DeliveryGuard over the library's memory or an IDeliveryStore of
// yours, called from C#): a repeat answered 200 {"result":"duplicate"}, 409 while in progress, 503
// when the store fails; examples/csharp/AspNetCoreCallback.cs does it in ASP.NET Core. Compiles with
// Mono's mcs (C# 7.2) as with csc; uses nothing Mono-only.
//
// Asynchronous requests: YunxinEcpAsync.cs, compiled into the same assembly with
// -r:System.Net.Http.dll, adds AsyncEcpClient (StartCallAsync, StartConfAsync, QueryAsync,
// RequestAsync with a CancellationToken), which drives the library's exchange (yx_exchange_*,
// the internal Exchange below) over HttpClient: the same decisions, exceptions and log lines as
// EcpClient. This file alone needs no System.Net.Http.
//
// Logging: Ecp.SetLogHandler hands the blocking client's own events (yx_set_log_callback: "request
// sent", "response", "no response" at Debug, "retry" at Info, "gave up" at Warn; phone numbers
// masked, never a header, body, nonce, CheckSum or secret) to an Action<LogLevel, string>, on the
// thread making the request:
//
//     Ecp.SetLogHandler((level, message) => Console.WriteLine(level + " " + message), LogLevel.Info);
//     ...
//     Ecp.SetLogHandler(null);   // no event starts after this returns
using System;
using System.Collections.Generic;
using System.Collections.Specialized;
using System.Globalization;
using System.IO;
using System.Net;
using System.Runtime.InteropServices;
using System.Runtime.Serialization;
using System.Runtime.Serialization.Json;
using System.Text;

namespace YunxinEcp
{
    /// <summary>The result kinds of the C ABI (yx_result), as YunxinEcpException.Result.</summary>
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

    /// <summary>The endpoints (yx_endpoint), for Ecp.ParseStartResponse and Ecp.CodeRetryAdvice.</summary>
    public static class Endpoint
    {
        public const int StartCall = 1;
        public const int StartConf = 2;
        public const int QueryBySession = 3;
        /// <summary>Any other server API: a request from EcpRequest.Api.</summary>
        public const int Api = 4;
    }

    /// <summary>The query's type (yx_session_kind).</summary>
    public static class SessionKind
    {
        public const int Call = 1;
        public const int Conference = 2;
    }

    /// <summary>How much a log event matters (yx_log_level), for Ecp.SetLogHandler: the level of
    /// each event, and the most detailed level to receive.</summary>
    public enum LogLevel
    {
        /// <summary>Nothing is logged (as a maximum level only: the same as removing the handler).</summary>
        Off = 0,
        /// <summary>Not used by the client today.</summary>
        Error = 1,
        /// <summary>A call gave up: "gave up" with the attempts, the reason and the advice.</summary>
        Warn = 2,
        /// <summary>A retry: "retry" with the reason and the delay.</summary>
        Info = 3,
        /// <summary>Each attempt: "request sent", "response" or "no response", with the elapsed time.</summary>
        Debug = 4,
        /// <summary>Not used by the client today.</summary>
        Trace = 5,
    }

    /// <summary>A failure reported by the library, read from its JSON (yx_error_to_json).</summary>
    public class YunxinEcpException : Exception
    {
        private readonly ErrorView view;

        /// <summary>The yx_result value.</summary>
        public int Result { get; }
        /// <summary>"validation", "api", "protocol", "callback", "auth", "transport", ...</summary>
        public string Kind => view.Kind ?? "other";
        /// <summary>The argument or parameter concerned, if any.</summary>
        public string Field => view.Field;
        /// <summary>The broken rule of a validation error ("country_code", "length", ...).</summary>
        public string Rule => view.Rule;
        /// <summary>The position of a bad entry in a list parameter, or -1.</summary>
        public long Index => view.Index ?? -1;
        /// <summary>The service's code (414, 500, ...) for API errors, else 0.</summary>
        public long ApiCode => view.Code ?? 0;
        /// <summary>The service's own message (msg, else desc), if any.</summary>
        public string ApiMessage => view.ApiMessage;
        /// <summary>The HTTP status of the answer, 0 when none came back.</summary>
        public int HttpStatus => view.HttpStatus ?? 0;
        /// <summary>The refinement of the kind: "html", "md5_mismatch", "connect", ...</summary>
        public string Reason => view.Reason;
        /// <summary>"never", "safe", "backoff", "once_after_delay" or "outcome_unknown".</summary>
        public string RetryAdvice => view.Retry ?? "never";
        /// <summary>Whether the request may have reached the service.</summary>
        public bool MaybeSent => view.MaybeSent;
        /// <summary>The body of the answer, for API and protocol errors.</summary>
        public string RawBody => view.RawBody;
        /// <summary>The whole error as JSON, with what has no property here (the code's meaning,
        /// the endpoint or path, the attempts, the detail).</summary>
        public string Json => view.Json;
        /// <summary>Server side: the body the service answers this refusal with (HTTP 200), for
        /// the errors of Ecp.VerifyRequest and Ecp.ParseServerRequestJson; else null.</summary>
        public string Reply => view.Reply;

        internal YunxinEcpException(int result, ErrorView view) : base(view.Message ?? "unknown error")
        {
            Result = result;
            this.view = view;
            HResult = result;
        }

        /// <summary>The exception for err, which it frees. With refusal, an auth or validation
        /// error also gets the service's reply: the library writes it from the error object only.</summary>
        internal static YunxinEcpException Create(int result, IntPtr err, bool refusal)
        {
            try
            {
                ErrorView view;
                if (Native.yx_error_to_json(err, out IntPtr json, out IntPtr inner) == YunxinEcp.Result.Ok)
                {
                    view = ErrorView.Parse(Native.Take(json));
                }
                else
                {
                    Native.yx_error_free(inner);
                    view = new ErrorView { Message = Native.Borrowed(Native.yx_error_message(err)) };
                }
                if (refusal && (result == YunxinEcp.Result.Auth || result == YunxinEcp.Result.Validation))
                {
                    if (Native.yx_server_reply_refusal(err, out IntPtr body, out IntPtr failed) == YunxinEcp.Result.Ok)
                    {
                        view.Reply = Native.Take(body);
                    }
                    else
                    {
                        Native.yx_error_free(failed);
                    }
                }
                switch (result)
                {
                    case YunxinEcp.Result.Validation: return new ValidationException(result, view);
                    case YunxinEcp.Result.Api: return new ApiException(result, view);
                    case YunxinEcp.Result.Protocol: return new ProtocolException(result, view);
                    case YunxinEcp.Result.Callback: return new CallbackException(result, view);
                    case YunxinEcp.Result.Auth: return new AuthException(result, view);
                    case YunxinEcp.Result.Transport: return new TransportException(result, view);
                    default: return new YunxinEcpException(result, view);
                }
            }
            finally
            {
                Native.yx_error_free(err);
            }
        }
    }

    /// <summary>An argument broke a rule (Field, Rule, Index); nothing was sent.</summary>
    public class ValidationException : YunxinEcpException { internal ValidationException(int result, ErrorView view) : base(result, view) { } }

    /// <summary>The service answered with a code other than 200 (ApiCode, ApiMessage).</summary>
    public class ApiException : YunxinEcpException { internal ApiException(int result, ErrorView view) : base(result, view) { } }

    /// <summary>The answer could not be read (Reason: "html", "not_json", "truncated", ...).</summary>
    public class ProtocolException : YunxinEcpException { internal ProtocolException(int result, ErrorView view) : base(result, view) { } }

    /// <summary>A callback was refused or unreadable (Reason: "md5_mismatch", "stale", ...).</summary>
    public class CallbackException : YunxinEcpException
    {
        internal CallbackException(int result, ErrorView view) : base(result, view) { }

        /// <summary>The answer a callback endpoint gives this refusal, as every language's
        /// integrations give it (the library decides): 413 for a body over the cap (Reason
        /// "too_large"), 400 for a genuine body that is no callback ("malformed"), else 403, with
        /// the JSON body {"error":"callback refused","reason":"..."}. Answering it is all an
        /// endpoint does with a refused callback: never process the body.</summary>
        public CallbackAnswer Answer => CallbackAnswer.ForReason(Reason ?? "refused");

        /// <summary>The HTTP status of Answer.</summary>
        public int AnswerStatus => Answer.Status;
    }

    /// <summary>A callback body over the cap of CallbackVerifier.ReadBody, refused before it was
    /// read whole (Reason "too_large", AnswerStatus 413): an endpoint anyone can reach must not
    /// hold an attacker's gigabytes to learn that their MD5 does not match.</summary>
    public sealed class BodyTooLargeException : CallbackException
    {
        /// <summary>The cap the body went over.</summary>
        public long MaxBodyBytes { get; }

        internal BodyTooLargeException(long maxBodyBytes) : base(YunxinEcp.Result.Callback, View(maxBodyBytes))
        {
            MaxBodyBytes = maxBodyBytes;
        }

        private static ErrorView View(long maxBodyBytes)
        {
            var view = new ErrorView
            {
                Kind = "callback",
                Reason = "too_large",
                Field = "body",
                Message = "body larger than " + maxBodyBytes.ToString(CultureInfo.InvariantCulture) + " bytes",
            };
            view.Json = JsonText.Write(view);
            return view;
        }
    }

    /// <summary>An incoming signed request was refused (server side; Reason, Reply).</summary>
    public class AuthException : YunxinEcpException { internal AuthException(int result, ErrorView view) : base(result, view) { } }

    /// <summary>No complete answer came back (Reason: "connect", "timeout", ...; MaybeSent).</summary>
    public class TransportException : YunxinEcpException { internal TransportException(int result, ErrorView view) : base(result, view) { } }

    /// <summary>A delivery store of your own (IDeliveryStore) failed: it threw. The message names
    /// the exception's type and the step (Step: "claim", "complete" or "release"), never its
    /// message, which may hold what the store connects with (a connection string with its
    /// password); the exception is not kept as the inner one for the same reason. The
    /// integrations answer it 503 (Reason "store_unavailable"), so that the sender tries again.</summary>
    public sealed class DeliveryStoreException : YunxinEcpException
    {
        internal DeliveryStoreException(string message, string step) : base(YunxinEcp.Result.Other, View(message, step))
        {
        }

        /// <summary>The store's method that failed.</summary>
        public string Step => Field;

        private static ErrorView View(string message, string step)
        {
            var view = new ErrorView { Kind = "delivery_store", Reason = "store_unavailable", Field = step, Message = message };
            view.Json = JsonText.Write(view);
            return view;
        }
    }

    /// <summary>The fields of yx_error_to_json that the exception exposes.</summary>
    [DataContract]
    internal sealed class ErrorView
    {
        [DataMember(Name = "kind")] internal string Kind { get; set; }
        [DataMember(Name = "message")] internal string Message { get; set; }
        [DataMember(Name = "field")] internal string Field { get; set; }
        [DataMember(Name = "rule")] internal string Rule { get; set; }
        [DataMember(Name = "index")] internal long? Index { get; set; }
        [DataMember(Name = "code")] internal long? Code { get; set; }
        [DataMember(Name = "api_message")] internal string ApiMessage { get; set; }
        [DataMember(Name = "http_status")] internal int? HttpStatus { get; set; }
        [DataMember(Name = "reason")] internal string Reason { get; set; }
        [DataMember(Name = "retry")] internal string Retry { get; set; }
        [DataMember(Name = "maybe_sent")] internal bool MaybeSent { get; set; }
        [DataMember(Name = "raw_body")] internal string RawBody { get; set; }
        internal string Json { get; set; }
        internal string Reply { get; set; }

        internal static ErrorView Parse(string json)
        {
            ErrorView view = JsonText.Read<ErrorView>(json);
            view.Json = json;
            return view;
        }
    }

    /// <summary>JSON through DataContractJsonSerializer, in the base libraries of Mono and .NET
    /// alike. Members a contract does not name are skipped.</summary>
    internal static class JsonText
    {
        internal static T Read<T>(string json)
        {
            using (var stream = new MemoryStream(Encoding.UTF8.GetBytes(json)))
            {
                return (T)new DataContractJsonSerializer(typeof(T)).ReadObject(stream);
            }
        }

        internal static string Write<T>(T value)
        {
            using (var stream = new MemoryStream())
            {
                new DataContractJsonSerializer(typeof(T)).WriteObject(stream, value);
                return Encoding.UTF8.GetString(stream.ToArray());
            }
        }
    }

    /// <summary>A handle of the library, freed exactly once by its yx_*_free function.</summary>
    public abstract class YxHandle : SafeHandle
    {
        protected YxHandle() : base(IntPtr.Zero, true) { }
        public override bool IsInvalid => handle == IntPtr.Zero;
    }

    public sealed class CredentialsHandle : YxHandle { protected override bool ReleaseHandle() { Native.yx_credentials_free(handle); return true; } }
    public sealed class HeadersHandle : YxHandle { protected override bool ReleaseHandle() { Native.yx_headers_free(handle); return true; } }
    public sealed class RequestHandle : YxHandle { protected override bool ReleaseHandle() { Native.yx_request_free(handle); return true; } }
    public sealed class PreparedRequestHandle : YxHandle { protected override bool ReleaseHandle() { Native.yx_prepared_request_free(handle); return true; } }
    public sealed class CallRecordHandle : YxHandle { protected override bool ReleaseHandle() { Native.yx_call_record_free(handle); return true; } }
    public sealed class CallbackVerifierHandle : YxHandle { protected override bool ReleaseHandle() { Native.yx_callback_verifier_free(handle); return true; } }
    public sealed class CallbackEventHandle : YxHandle { protected override bool ReleaseHandle() { Native.yx_callback_event_free(handle); return true; } }
    public sealed class DeliveryGuardHandle : YxHandle { protected override bool ReleaseHandle() { Native.yx_delivery_guard_free(handle); return true; } }
    public sealed class ClientHandle : YxHandle { protected override bool ReleaseHandle() { Native.yx_client_free(handle); return true; } }
    public sealed class MockServerHandle : YxHandle { protected override bool ReleaseHandle() { Native.yx_mock_server_free(handle); return true; } }
    public sealed class ExchangeHandle : YxHandle { protected override bool ReleaseHandle() { Native.yx_exchange_free(handle); return true; } }

    /// <summary>yx_attempt_limits: what one attempt of an exchange must be sent within.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct AttemptLimits
    {
        public ulong ConnectTimeoutMs;
        public ulong TimeoutMs;
        public ulong MaxResponseBytes;
    }

    /// <summary>yx_pair: two borrowed C strings (a header, or a parameter of an API request).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct Pair
    {
        public IntPtr Name;
        public IntPtr Value;
    }

    /// <summary>yx_delivery: which credentials matched, the delivery's CurTime, expiry and key (40
    /// hex characters and a NUL).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct DeliveryView
    {
        public uint Credential;
        public ulong CurTimeMs;
        public ulong ExpiresAtMs;
        [MarshalAs(UnmanagedType.ByValArray, SizeConst = 41)] public byte[] Key;
    }

    /// <summary>The P/Invoke declarations, one per C function used, and the string conventions.</summary>
    internal static class Native
    {
        private const string Lib = "yunxin_ecp";

        private static readonly UTF8Encoding Strict = new UTF8Encoding(false, true);

        /// <summary>A .NET string as NUL-terminated UTF-8 (null stays null: a NULL pointer). A NUL
        /// inside or a lone surrogate is refused here: C would cut or mangle the string.</summary>
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
            return Strict.GetBytes(value + "\0");
        }

        /// <summary>Copies a borrowed UTF-8 C string (NULL gives null). By hand: the .NET Framework
        /// has no Marshal.PtrToStringUTF8.</summary>
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
        internal static void Check(int result, IntPtr err, bool refusal = false)
        {
            if (result != YunxinEcp.Result.Ok)
            {
                throw YunxinEcpException.Create(result, err, refusal);
            }
        }

        /// <summary>Set once the library is loaded and speaks AbiVersion.</summary>
        private static volatile bool ready;

        /// <summary>The first touch of the library, at every entry point that needs no handle (one
        /// with a handle has had it already): loads it, with a message that says what to do when
        /// it is not found, and refuses a library of another ABI version. Until it succeeds, every
        /// call tries again.</summary>
        internal static void Ready()
        {
            if (ready)
            {
                return;
            }
            uint abi = LoadedAbiVersion();
            if (abi != Ecp.AbiVersion)
            {
                string version;
                try
                {
                    version = Borrowed(yx_version());
                }
                catch (EntryPointNotFoundException)
                {
                    version = "(no yx_version)";
                }
                throw new InvalidOperationException(
                    "libyunxin_ecp " + version + " speaks ABI version " + abi + ", but this wrapper (YunxinEcp.cs) was written for ABI version "
                    + Ecp.AbiVersion + ": use the YunxinEcp.cs of the library's release, or make the loader find the libyunxin_ecp.so this "
                    + "wrapper came with (LD_LIBRARY_PATH, the program's directory, the installed copy: ldconfig -p | grep yunxin_ecp"
                    + ", or a Mono dllmap in " + ConfigFile() + ").");
            }
            ready = true;
        }

        /// <summary>yx_abi_version, with the loader's failures explained.</summary>
        internal static uint LoadedAbiVersion()
        {
            try
            {
                return yx_abi_version();
            }
            catch (DllNotFoundException e)
            {
                throw new DllNotFoundException(
                    "Could not load libyunxin_ecp.so, the native library of this wrapper: DllImport(\"" + Lib + "\") looks for "
                    + "libyunxin_ecp.so (libyunxin_ecp.dylib on macOS, yunxin_ecp.dll on Windows; from the sources: cargo build "
                    + "--release -p yunxin-ecp-ffi gives target/release/libyunxin_ecp.so). Put its directory on LD_LIBRARY_PATH "
                    + "(LD_LIBRARY_PATH=/path/to/dir mono YourApp.exe) or the file beside the program; or install it (e.g. "
                    + "/usr/local/lib/libyunxin_ecp.so, then run ldconfig); or, on Mono, map it with a dllmap in " + ConfigFile()
                    + ": <configuration><dllmap dll=\"" + Lib + "\" target=\"/path/to/libyunxin_ecp.so\"/></configuration>; on .NET, "
                    + "resolve it with NativeLibrary.SetDllImportResolver. The loader said: " + e.Message, e);
            }
            catch (EntryPointNotFoundException e)
            {
                throw new EntryPointNotFoundException(
                    "The library loaded for DllImport(\"" + Lib + "\") has no yx_abi_version: it is not libyunxin_ecp.so, or a build "
                    + "older than this wrapper. Make the loader find the right libyunxin_ecp.so: LD_LIBRARY_PATH, the program's "
                    + "directory, the installed copy (ldconfig -p | grep yunxin_ecp), a Mono dllmap in " + ConfigFile()
                    + ", or NativeLibrary.SetDllImportResolver on .NET. The loader said: " + e.Message, e);
            }
        }

        /// <summary>Where Mono reads the dllmap for this wrapper's DllImports: the .config file of the
        /// assembly it is compiled into.</summary>
        private static string ConfigFile()
        {
            string location = typeof(Native).Assembly.Location;
            return string.IsNullOrEmpty(location) ? "YourApp.exe.config" : Path.GetFileName(location) + ".config";
        }

        /// <summary>Every value of every name, each its own pair: a header sent twice reaches the
        /// library twice, which refuses it (a name without values gives no pair).</summary>
        internal static IEnumerable<KeyValuePair<string, string>> Each(NameValueCollection headers)
        {
            if (headers == null)
            {
                yield break;
            }
            for (int i = 0; i < headers.Count; i++)
            {
                string name = headers.GetKey(i);
                string[] values = headers.GetValues(i);
                if (values == null)
                {
                    continue;
                }
                foreach (string value in values)
                {
                    yield return new KeyValuePair<string, string>(name, value);
                }
            }
        }

        /// <summary>As Each(NameValueCollection), for names with lists of values (null: none).</summary>
        internal static IEnumerable<KeyValuePair<string, string>> Each<TValues>(IEnumerable<KeyValuePair<string, TValues>> headers)
            where TValues : IEnumerable<string>
        {
            if (headers == null)
            {
                yield break;
            }
            foreach (var header in headers)
            {
                if (header.Value == null)
                {
                    continue;
                }
                foreach (string value in header.Value)
                {
                    yield return new KeyValuePair<string, string>(header.Key, value);
                }
            }
        }

        /// <summary>Copies a header list (yx_headers, owned or borrowed, alive during the call).</summary>
        internal static KeyValuePair<string, string>[] Headers(IntPtr list)
        {
            var pairs = new KeyValuePair<string, string>[(int)yx_headers_count(list).ToUInt32()];
            for (int i = 0; i < pairs.Length; i++)
            {
                var index = new UIntPtr((uint)i);
                pairs[i] = new KeyValuePair<string, string>(Borrowed(yx_headers_name(list, index)), Borrowed(yx_headers_value(list, index)));
            }
            return pairs;
        }

        internal static UIntPtr Length(byte[] bytes) => new UIntPtr((uint)(bytes == null ? 0 : bytes.Length));

        /// <summary>Copies strings to unmanaged UTF-8 for the duration of a call; Dispose frees them.</summary>
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

            internal Pair[] Pairs(IEnumerable<KeyValuePair<string, string>> pairs, string name)
            {
                var list = new List<Pair>();
                foreach (var pair in pairs ?? new KeyValuePair<string, string>[0])
                {
                    list.Add(new Pair { Name = Add(pair.Key, name + " name"), Value = Add(pair.Value, name + " value") });
                }
                return list.ToArray();
            }

            public void Dispose()
            {
                allocated.ForEach(Marshal.FreeHGlobal);
                allocated.Clear();
            }
        }

        // ---- version, errors, strings ----
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_version();
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern uint yx_abi_version();
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern void yx_string_free(IntPtr s);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern void yx_error_free(IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_error_message(IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_error_to_json(IntPtr err, out IntPtr json, out IntPtr errOut);

        // ---- signing ----
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_credentials_new(byte[] appKey, byte[] appSecret, out CredentialsHandle credentials, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_credentials_from_env(out CredentialsHandle credentials, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern void yx_credentials_free(IntPtr credentials);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_credentials_app_key(CredentialsHandle credentials);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_credentials_sign(CredentialsHandle credentials, byte[] nonce, ulong curTime, out HeadersHandle headers, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern void yx_headers_free(IntPtr headers);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern UIntPtr yx_headers_count(IntPtr headers);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_headers_name(IntPtr headers, UIntPtr index);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_headers_value(IntPtr headers, UIntPtr index);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_checksum(byte[] secret, byte[] nonce, byte[] curTime, out IntPtr checksum, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_body_md5(byte[] body, UIntPtr bodyLen, out IntPtr md5, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_generate_nonce(UIntPtr len, out IntPtr nonce, out IntPtr err);

        // ---- requests ----
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_start_call_new(byte[] callerAcc, byte[] caller, byte[] callee, uint maxDur, out RequestHandle request, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_start_conf_new(byte[] callerAcc, byte[] caller, IntPtr[] callees, UIntPtr calleeCount, uint maxDur, out RequestHandle request, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_query_new(byte[] session, int kind, out RequestHandle request, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_api_request_new(byte[] path, Pair[] parameters, UIntPtr count, int idempotent, out RequestHandle request, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern void yx_request_free(IntPtr request);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_request_to_json(RequestHandle request, out IntPtr json, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_request_prepare(RequestHandle request, CredentialsHandle credentials, byte[] baseUrl, byte[] nonce, ulong curTime, out PreparedRequestHandle prepared, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern void yx_prepared_request_free(IntPtr prepared);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_prepared_request_url(PreparedRequestHandle prepared);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_prepared_request_body(PreparedRequestHandle prepared);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_prepared_request_headers(PreparedRequestHandle prepared);

        // ---- responses, records, codes ----
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_parse_start_response(int endpoint, ushort httpStatus, byte[] body, UIntPtr bodyLen, out IntPtr session, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_parse_query_response(ushort httpStatus, byte[] body, UIntPtr bodyLen, out CallRecordHandle record, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_parse_api_response(RequestHandle request, ushort httpStatus, byte[] body, UIntPtr bodyLen, out IntPtr json, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern void yx_call_record_free(IntPtr record);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_call_record_to_json(CallRecordHandle record, out IntPtr json, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_code_meaning(long code);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_code_retry_advice(long code, int endpoint);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_code_table_json(out IntPtr json, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern ulong yx_billed_minutes(ulong durationSec);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern ulong yx_cost_fen(ulong durationSec, ulong fenPerMinute);

        // ---- callbacks ----
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_callback_verifier_new(CredentialsHandle credentials, byte[] optionsJson, out CallbackVerifierHandle verifier, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern void yx_callback_verifier_free(IntPtr verifier);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_callback_verifier_verify(CallbackVerifierHandle verifier, byte[] body, UIntPtr bodyLen, Pair[] headers, UIntPtr headerCount, ulong nowMs, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_callback_verifier_verify_and_parse(CallbackVerifierHandle verifier, byte[] body, UIntPtr bodyLen, Pair[] headers, UIntPtr headerCount, ulong nowMs, out CallbackEventHandle evt, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_callback_parse(byte[] body, UIntPtr bodyLen, out CallbackEventHandle evt, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_callback_sign(CredentialsHandle credentials, byte[] body, UIntPtr bodyLen, ulong curTimeMs, out HeadersHandle headers, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern void yx_callback_event_free(IntPtr evt);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_callback_event_kind(CallbackEventHandle evt);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_callback_event_to_json(CallbackEventHandle evt, out IntPtr json, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_callback_verifier_new_multi(IntPtr[] credentials, UIntPtr count, byte[] optionsJson, out CallbackVerifierHandle verifier, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_callback_verifier_verify_delivery(CallbackVerifierHandle verifier, byte[] body, UIntPtr bodyLen, Pair[] headers, UIntPtr headerCount, ulong nowMs, out DeliveryView delivery, out CallbackEventHandle evt, out IntPtr err);
        /// <summary>yx_callback_verifier_verify_delivery with event_out NULL: the body is not parsed.</summary>
        [DllImport(Lib, EntryPoint = "yx_callback_verifier_verify_delivery", CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_callback_verifier_verify_delivery_only(CallbackVerifierHandle verifier, byte[] body, UIntPtr bodyLen, Pair[] headers, UIntPtr headerCount, ulong nowMs, out DeliveryView delivery, IntPtr noEvent, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_callback_answer(byte[] reason, out ushort status, out IntPtr body, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern ulong yx_callback_default_max_body_bytes();

        // ---- duplicate deliveries ----
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_delivery_guard_new(byte[] optionsJson, out DeliveryGuardHandle guard, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern void yx_delivery_guard_free(IntPtr guard);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_delivery_guard_claim(DeliveryGuardHandle guard, byte[] key, ulong expiresAtMs, ulong nowMs, out int claim, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_delivery_guard_complete(DeliveryGuardHandle guard, byte[] key, ulong expiresAtMs, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_delivery_guard_release(DeliveryGuardHandle guard, byte[] key, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern UIntPtr yx_delivery_guard_held(DeliveryGuardHandle guard);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern ulong yx_delivery_guard_evicted(DeliveryGuardHandle guard);

        // ---- server side ----
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_server_verify_request(CredentialsHandle credentials, Pair[] headers, UIntPtr headerCount, ulong nowSecs, ulong windowSecs, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_server_parse_request(byte[] path, byte[] query, byte[] body, UIntPtr bodyLen, out RequestHandle request, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_server_reply_refusal(IntPtr refusal, out IntPtr body, out IntPtr err);

        // ---- client ----
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_client_new(CredentialsHandle credentials, byte[] settingsJson, out ClientHandle client, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern void yx_client_free(IntPtr client);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_client_base_url(ClientHandle client);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_client_start(ClientHandle client, RequestHandle request, out IntPtr session, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_client_query(ClientHandle client, RequestHandle request, out CallRecordHandle record, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_client_request(ClientHandle client, RequestHandle request, out IntPtr json, out IntPtr err);

        // ---- exchange (the core's sans-IO request loop, for an HTTP stack of the caller's) ----
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_exchange_new(CredentialsHandle credentials, RequestHandle request, byte[] settingsJson, byte[] entropyJson, out ExchangeHandle exchange, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern void yx_exchange_free(IntPtr exchange);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_exchange_send(ExchangeHandle exchange, out PreparedRequestHandle prepared, out AttemptLimits limits, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_exchange_receive(ExchangeHandle exchange, ushort status, byte[] location, byte[] body, UIntPtr bodyLen, ulong elapsedMs, out long retryAfterMs, out IntPtr answer, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_exchange_too_large(ExchangeHandle exchange, ushort status, ulong elapsedMs, out long retryAfterMs, out IntPtr answer, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_exchange_fail(ExchangeHandle exchange, int kind, int maybeSent, byte[] detail, ulong elapsedMs, out long retryAfterMs, out IntPtr answer, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_exchange_cancel(ExchangeHandle exchange, int maybeSent, out int advice, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_exchange_events_json(ExchangeHandle exchange, out IntPtr json, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_exchange_record(ExchangeHandle exchange, out CallRecordHandle record, out IntPtr err);

        // ---- logging ----
        /// <summary>yx_log_callback. The strings are IntPtr, read as UTF-8 by hand (Borrowed): the
        /// default marshalling of a string argument would read the platform's ANSI encoding.</summary>
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate void LogCallback(int level, IntPtr target, IntPtr message, IntPtr userdata);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_set_log_callback(LogCallback callback, IntPtr userdata, int maxLevel, out IntPtr err);

        // ---- mock ----
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_mock_sample_app_key();
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_mock_sample_app_secret();
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_mock_server_start(out MockServerHandle server, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern void yx_mock_server_free(IntPtr server);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern IntPtr yx_mock_server_base_url(MockServerHandle server);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_mock_server_control(MockServerHandle server, byte[] method, byte[] path, byte[] formBody, out IntPtr json, out IntPtr err);
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)] internal static extern int yx_mock_server_wait_for_inbox(MockServerHandle server, UIntPtr count, ulong timeoutMs, out IntPtr json, out IntPtr err);
    }

    /// <summary>Functions without a handle.</summary>
    public static class Ecp
    {
        /// <summary>The ABI version this binding speaks.</summary>
        public const uint AbiVersion = 2;

        /// <summary>The words of yx_retry_advice, by value: yx_code_retry_advice gives only the
        /// enum, where an error's JSON gives the word.</summary>
        internal static readonly string[] RetryWords = { "never", "safe", "backoff", "once_after_delay", "outcome_unknown" };

        /// <summary>The library's version, e.g. "0.1.0".</summary>
        public static string Version
        {
            get
            {
                Native.Ready();
                return Native.Borrowed(Native.yx_version());
            }
        }

        /// <summary>The loaded library's ABI version (compare with AbiVersion).</summary>
        public static uint LibraryAbiVersion => Native.LoadedAbiVersion();

        /// <summary>Sends the blocking client's log events up to maxLevel to handler, with their
        /// level and message ("retry id=1f0c9a2e attempt=1 reason=api_503 delay_ms=200"): "request
        /// sent", "response" and "no response" at Debug, "retry" at Info, "gave up" at Warn. Phone
        /// numbers are masked (138****8888); no header, body, nonce, CheckSum or secret ever
        /// appears. One handler per process: a call replaces the previous one; null (or
        /// LogLevel.Off) removes it, and returns once no call of the old handler is running on any
        /// thread, none starting after.
        ///
        /// The handler runs synchronously on the thread making the request (any thread that uses
        /// an EcpClient), so it should be quick and thread-safe. An exception it throws is caught
        /// (none may cross into native code) and written as one line to Console.Error; the event
        /// is dropped and the request goes on. The library calls the handler holding its logging
        /// lock: inside the handler, SetLogHandler throws InvalidOperationException (it would wait
        /// for that lock forever), and the handler must not make requests itself (their events
        /// are dropped, and taking the lock again can deadlock against an installation on another
        /// thread). A level outside LogLevel is a YunxinEcpException (Result.InvalidArgument, Field
        /// "max_level"), as is a process whose Rust logger is owned by another library; the
        /// previous handler then stays. Remove the handler before unloading the AppDomain or
        /// AssemblyLoadContext this wrapper runs in.</summary>
        public static void SetLogHandler(Action<LogLevel, string> handler, LogLevel maxLevel = LogLevel.Debug)
        {
            Native.Ready();
            LogBridge.Set(handler, maxLevel);
        }

        /// <summary>Lowercase hex SHA1(secret + nonce + curTime) over UTF-8: the bare CheckSum.</summary>
        public static string Checksum(string secret, string nonce, string curTime)
        {
            Native.Ready();
            Native.Check(Native.yx_checksum(Native.Utf8(secret, "secret"), Native.Utf8(nonce, "nonce"), Native.Utf8(curTime, "curTime"), out IntPtr sum, out IntPtr err), err);
            return Native.Take(sum);
        }

        /// <summary>Lowercase hex MD5 of raw bytes, hex-encoded once: 32 characters.</summary>
        public static string BodyMd5(byte[] body)
        {
            Native.Ready();
            Native.Check(Native.yx_body_md5(body, Native.Length(body), out IntPtr md5, out IntPtr err), err);
            return Native.Take(md5);
        }

        /// <summary>A nonce of lowercase hex characters from the OS CSPRNG.</summary>
        public static string GenerateNonce(int length = 32)
        {
            Native.Ready();
            Native.Check(Native.yx_generate_nonce(new UIntPtr((uint)Math.Max(length, 0)), out IntPtr nonce, out IntPtr err), err);
            return Native.Take(nonce);
        }

        /// <summary>What a service code means.</summary>
        public static string CodeMeaning(long code)
        {
            Native.Ready();
            return Native.Borrowed(Native.yx_code_meaning(code));
        }

        /// <summary>Whether a request to endpoint answered code may be sent again ("never", "safe", ...).</summary>
        public static string CodeRetryAdvice(long code, int endpoint)
        {
            Native.Ready();
            int advice = Native.yx_code_retry_advice(code, endpoint);
            return advice >= 0 && advice < RetryWords.Length ? RetryWords[advice] : "never";
        }

        /// <summary>The code table as a JSON array.</summary>
        public static string CodeTableJson()
        {
            Native.Ready();
            Native.Check(Native.yx_code_table_json(out IntPtr json, out IntPtr err), err);
            return Native.Take(json);
        }

        public static ulong BilledMinutes(ulong durationSec)
        {
            Native.Ready();
            return Native.yx_billed_minutes(durationSec);
        }

        public static ulong CostFen(ulong durationSec, ulong fenPerMinute = 12)
        {
            Native.Ready();
            return Native.yx_cost_fen(durationSec, fenPerMinute);
        }

        /// <summary>Reads a start answer (Endpoint.StartCall or StartConf); returns the session.</summary>
        public static string ParseStartResponse(int endpoint, int httpStatus, byte[] body)
        {
            Native.Ready();
            Native.Check(Native.yx_parse_start_response(endpoint, checked((ushort)httpStatus), body, Native.Length(body), out IntPtr session, out IntPtr err), err);
            return Native.Take(session);
        }

        /// <summary>Reads a queryBySession answer into the record.</summary>
        public static CallRecord ParseQueryResponse(int httpStatus, byte[] body)
        {
            Native.Ready();
            Native.Check(Native.yx_parse_query_response(checked((ushort)httpStatus), body, Native.Length(body), out CallRecordHandle record, out IntPtr err), err);
            return CallRecord.From(record);
        }

        /// <summary>Reads the answer to an EcpRequest.Api request; returns its whole JSON body.</summary>
        public static string ParseApiResponse(EcpRequest request, int httpStatus, byte[] body)
        {
            Native.Check(Native.yx_parse_api_response(request.Handle, checked((ushort)httpStatus), body, Native.Length(body), out IntPtr json, out IntPtr err), err);
            return Native.Take(json);
        }

        /// <summary>Parses a callback body without verifying it (for bodies verified already).</summary>
        public static CallbackEvent ParseCallback(byte[] body)
        {
            Native.Ready();
            Native.Check(Native.yx_callback_parse(body, Native.Length(body), out CallbackEventHandle evt, out IntPtr err), err);
            return CallbackEvent.From(evt);
        }

        /// <summary>Signs a callback body as the service signs its deliveries, to test a receiver
        /// (the app's own callback handler) without copying the algorithm: the headers to POST with
        /// exactly these bytes, in a delivery's order (Content-Type application/json, AppKey,
        /// CurTime in milliseconds, MD5 of the body, CheckSum = SHA1(secret + MD5 + CurTime)). The
        /// signature covers the bytes, not their JSON meaning. curTimeMs is Unix milliseconds, 0
        /// for the clock; one that can only be seconds is a ValidationException (Field
        /// "cur_time_ms", Rule "seconds"), since a receiver would refuse it as decades old.</summary>
        public static KeyValuePair<string, string>[] SignCallback(Credentials credentials, byte[] body, ulong curTimeMs = 0)
        {
            Native.Ready();
            if (credentials == null)
            {
                throw new ArgumentNullException(nameof(credentials));
            }
            Native.Check(Native.yx_callback_sign(credentials.Handle, body, Native.Length(body), curTimeMs, out HeadersHandle headers, out IntPtr err), err);
            using (headers)
            {
                return Native.Headers(headers.DangerousGetHandle());
            }
        }

        /// <summary>Server side: checks an incoming request's auth headers; throws AuthException,
        /// whose Reply is what the service answers.</summary>
        public static void VerifyRequest(Credentials app, IEnumerable<KeyValuePair<string, string>> headers, ulong nowSecs, ulong windowSecs = 300)
        {
            using (var strings = new Native.Strings())
            {
                Pair[] array = strings.Pairs(headers, "header");
                Native.Check(Native.yx_server_verify_request(app.Handle, array, new UIntPtr((uint)array.Length), nowSecs, windowSecs, out IntPtr err), err, true);
            }
        }

        /// <summary>Server side: reads the parameters of a request to path, as JSON
        /// {"request":...,"params":{...}}; throws ValidationException, whose Reply is what the
        /// service answers.</summary>
        public static string ParseServerRequestJson(string path, string query, byte[] body)
        {
            Native.Ready();
            Native.Check(Native.yx_server_parse_request(Native.Utf8(path, "path"), Native.Utf8(query, "query"), body, Native.Length(body), out RequestHandle request, out IntPtr err), err, true);
            using (var r = new EcpRequest(request))
            {
                return r.ToJson();
            }
        }
    }

    /// <summary>The bridge between yx_set_log_callback and Ecp.SetLogHandler: one handler per
    /// process, as the library has one callback.</summary>
    internal static class LogBridge
    {
        /// <summary>Serializes installations (SetLogHandler from several threads).</summary>
        private static readonly object Gate = new object();

        /// <summary>The delegate whose function pointer the library holds. In a static readonly
        /// field, it stays reachable for the life of the app domain, so the garbage collector never
        /// frees the thunk the library may still call; one instance, so every installation hands
        /// the library the same pointer.</summary>
        private static readonly Native.LogCallback Trampoline = Forward;

        /// <summary>The handler the trampoline calls; null when none. Read without the lock.</summary>
        private static volatile Action<LogLevel, string> handler;

        /// <summary>The most detailed level the handler takes, for the events an exchange returns
        /// (the library filters its own).</summary>
        private static volatile int maxLevel;

        /// <summary>Whether a handler is installed: an exchange's events are read only then.</summary>
        internal static bool Active => handler != null;

        /// <summary>One event of an exchange (yx_exchange_events_json), to the handler the
        /// blocking client's events reach, filtered by the same maximum level, on the calling
        /// thread, an exception of the handler caught and reported as for those.</summary>
        internal static void Deliver(LogLevel level, string line)
        {
            Action<LogLevel, string> current = handler;
            if (current == null || (int)level > maxLevel || inHandler)
            {
                return;
            }
            inHandler = true;
            try
            {
                current(level, line);
            }
            catch (Exception e)
            {
                Report(e, (int)level, line);
            }
            finally
            {
                inHandler = false;
            }
        }

        /// <summary>Set while this thread runs the handler: the library calls it holding its
        /// logging lock, which an installation from inside the handler would wait for forever.</summary>
        [ThreadStatic] private static bool inHandler;

        internal static void Set(Action<LogLevel, string> next, LogLevel maxLevel)
        {
            if (inHandler)
            {
                throw new InvalidOperationException(
                    "Ecp.SetLogHandler cannot be called from inside the log handler: set or remove it from the code "
                    + "that makes the requests.");
            }
            lock (Gate)
            {
                if (next == null || maxLevel == LogLevel.Off)
                {
                    // The library first: no event starts after it returns. One already being delivered
                    // on another thread may still finish; the trampoline lives as long as the process,
                    // so that is safe, and it reads `handler` once per event.
                    Native.Check(Native.yx_set_log_callback(null, IntPtr.Zero, (int)LogLevel.Off, out IntPtr err), err);
                    handler = null;
                    return;
                }
                // The library first: when it refuses (a level outside LogLevel, another logger owns
                // the process), nothing changed and the new handler never saw an event. Until the
                // handler is swapped just after, events go to the previous one (or nowhere).
                Native.Check(Native.yx_set_log_callback(Trampoline, IntPtr.Zero, (int)maxLevel, out IntPtr failed), failed);
                LogBridge.maxLevel = (int)maxLevel;
                handler = next;
            }
        }

        /// <summary>Called by the library on the thread making the request. Nothing may escape
        /// into native code: every exception is caught here and reported by Report.</summary>
        private static void Forward(int level, IntPtr target, IntPtr message, IntPtr userdata)
        {
            if (inHandler)
            {
                // A request made by the handler itself (which it must not make): its events are
                // dropped, not recursed into.
                return;
            }
            inHandler = true;
            string text = null;
            try
            {
                Action<LogLevel, string> current = handler;
                if (current != null)
                {
                    text = Native.Borrowed(message);
                    current((LogLevel)level, text);
                }
            }
            catch (Exception e)
            {
                Report(e, level, text);
            }
            finally
            {
                inHandler = false;
            }
        }

        /// <summary>A handler's exception, as one line on Console.Error (Trace would need the TRACE
        /// symbol, and its default listener shows nothing under Mono). The event is dropped; the
        /// request goes on.</summary>
        private static void Report(Exception e, int level, string text)
        {
            try
            {
                Console.Error.WriteLine(
                    "yunxin_ecp: the log handler threw " + e.GetType().FullName + ": " + e.Message + " (the "
                    + (Enum.IsDefined(typeof(LogLevel), level) ? ((LogLevel)level).ToString() : level.ToString(CultureInfo.InvariantCulture))
                    + " event \"" + text + "\" was dropped; the request goes on)");
            }
            catch (Exception)
            {
                // Console.Error itself failed (closed, full): nowhere left to say it, and nothing may
                // reach native code.
            }
        }
    }

    /// <summary>An app key and secret. Dispose wipes the secret from native memory.</summary>
    public sealed class Credentials : IDisposable
    {
        internal readonly CredentialsHandle Handle;

        public Credentials(string appKey, string appSecret)
        {
            Native.Ready();
            Native.Check(Native.yx_credentials_new(Native.Utf8(appKey, "appKey"), Native.Utf8(appSecret, "appSecret"), out Handle, out IntPtr err), err);
        }

        private Credentials(CredentialsHandle handle) => Handle = handle;

        /// <summary>Reads YUNXIN_APP_KEY and YUNXIN_APP_SECRET.</summary>
        public static Credentials FromEnvironment()
        {
            Native.Ready();
            Native.Check(Native.yx_credentials_from_env(out CredentialsHandle handle, out IntPtr err), err);
            return new Credentials(handle);
        }

        /// <summary>The app key as the library holds it (public; the secret never leaves).</summary>
        public string AppKey => Native.Borrowed(Native.yx_credentials_app_key(Handle));

        /// <summary>Signs with a given nonce and CurTime in seconds (what the vectors test); a null
        /// nonce draws a fresh one and a curTime of 0 reads the clock.</summary>
        public AuthHeaders Sign(string nonce, ulong curTime)
        {
            Native.Check(Native.yx_credentials_sign(Handle, Native.Utf8(nonce, "nonce"), curTime, out HeadersHandle headers, out IntPtr err), err);
            using (headers)
            {
                return new AuthHeaders(Native.Headers(headers.DangerousGetHandle()));
            }
        }

        /// <summary>Signs with a fresh nonce and one reading of the clock: once per request.</summary>
        public AuthHeaders SignNow() => Sign(null, 0);

        /// <summary>Shows the app key only.</summary>
        public override string ToString() => "AppKey " + AppKey + " (secret redacted)";

        public void Dispose() => Handle.Dispose();
    }

    /// <summary>The four auth headers of one request, copied out of the library when signed.</summary>
    public sealed class AuthHeaders : IDisposable
    {
        private readonly KeyValuePair<string, string>[] pairs;

        internal AuthHeaders(KeyValuePair<string, string>[] pairs) => this.pairs = pairs;

        public string AppKey => pairs[0].Value;
        public string Nonce => pairs[1].Value;
        public string CurTime => pairs[2].Value;
        public string CheckSum => pairs[3].Value;

        /// <summary>The headers in the documented order: AppKey, Nonce, CurTime, CheckSum.</summary>
        public KeyValuePair<string, string>[] Pairs => (KeyValuePair<string, string>[])pairs.Clone();

        /// <summary>Holds no native memory: does nothing, so that using blocks stay natural.</summary>
        public void Dispose() { }
    }

    /// <summary>A request ready for any HTTP client: POST Body to Url with Headers.</summary>
    public sealed class PreparedRequest
    {
        /// <summary>Always "POST": every YunXin server API is a form POST.</summary>
        public string Method => "POST";
        public string Url { get; private set; }
        /// <summary>AppKey, Nonce, CurTime, CheckSum, Content-Type.</summary>
        public KeyValuePair<string, string>[] Headers { get; private set; }
        public string Body { get; private set; }

        internal static PreparedRequest From(PreparedRequestHandle handle)
        {
            using (handle)
            {
                return new PreparedRequest
                {
                    Url = Native.Borrowed(Native.yx_prepared_request_url(handle)),
                    Body = Native.Borrowed(Native.yx_prepared_request_body(handle)),
                    // Borrowed from the prepared request, which the using keeps alive.
                    Headers = Native.Headers(Native.yx_prepared_request_headers(handle)),
                };
            }
        }
    }

    /// <summary>A validated request: an ECP start or query, or a request to any other server API.</summary>
    public sealed class EcpRequest : IDisposable
    {
        internal readonly RequestHandle Handle;

        internal EcpRequest(RequestHandle handle) => Handle = handle;

        /// <summary>A callback call: rings caller, then callee, for at most maxDur seconds.</summary>
        public static EcpRequest StartCall(string callerAcc, string caller, string callee, uint maxDur)
        {
            Native.Ready();
            Native.Check(Native.yx_start_call_new(Native.Utf8(callerAcc, "callerAcc"), Native.Utf8(caller, "caller"), Native.Utf8(callee, "callee"), maxDur, out RequestHandle handle, out IntPtr err), err);
            return new EcpRequest(handle);
        }

        /// <summary>A conference of caller and 2 to 7 callees, sent as a real JSON array.</summary>
        public static EcpRequest StartConf(string callerAcc, string caller, IList<string> callees, uint maxDur)
        {
            Native.Ready();
            using (var strings = new Native.Strings())
            {
                IntPtr[] array = callees == null ? null : strings.Array(callees, "callees");
                Native.Check(Native.yx_start_conf_new(Native.Utf8(callerAcc, "callerAcc"), Native.Utf8(caller, "caller"), array, new UIntPtr((uint)(array == null ? 0 : array.Length)), maxDur, out RequestHandle handle, out IntPtr err), err);
                return new EcpRequest(handle);
            }
        }

        /// <summary>A query for one session (SessionKind.Call or SessionKind.Conference).</summary>
        public static EcpRequest Query(string session, int kind)
        {
            Native.Ready();
            Native.Check(Native.yx_query_new(Native.Utf8(session, "session"), kind, out RequestHandle handle, out IntPtr err), err);
            return new EcpRequest(handle);
        }

        /// <summary>A form POST to any other server API: path such as "/nimserver/user/create.action"
        /// (else a ValidationException with Field "path"), the parameters in order. Only an
        /// idempotent request is sent again after it may have arrived.</summary>
        public static EcpRequest Api(string path, IEnumerable<KeyValuePair<string, string>> parameters, bool idempotent = false)
        {
            Native.Ready();
            using (var strings = new Native.Strings())
            {
                Pair[] array = strings.Pairs(parameters, "parameter");
                Native.Check(Native.yx_api_request_new(Native.Utf8(path, "path"), array, new UIntPtr((uint)array.Length), idempotent ? 1 : 0, out RequestHandle handle, out IntPtr err), err);
                return new EcpRequest(handle);
            }
        }

        /// <summary>{"request":"start_call"|"start_conf"|"query"|"api","params":{...}}</summary>
        public string ToJson()
        {
            Native.Check(Native.yx_request_to_json(Handle, out IntPtr json, out IntPtr err), err);
            return Native.Take(json);
        }

        /// <summary>Signs and prepares one attempt (baseUrl null: the production gateway). A null
        /// nonce and a curTime of 0 sign afresh, as production does; fixed ones reproduce a
        /// signature.</summary>
        public PreparedRequest Prepare(string baseUrl, Credentials credentials, string nonce = null, ulong curTime = 0)
        {
            Native.Check(Native.yx_request_prepare(Handle, credentials.Handle, Native.Utf8(baseUrl, "baseUrl"), Native.Utf8(nonce, "nonce"), curTime, out PreparedRequestHandle prepared, out IntPtr err), err);
            return PreparedRequest.From(prepared);
        }

        /// <summary>Signs now, then prepares: once per attempt.</summary>
        public PreparedRequest PrepareNow(string baseUrl, Credentials credentials) => Prepare(baseUrl, credentials);

        public void Dispose() => Handle.Dispose();
    }

    /// <summary>One leg of a two-party call.</summary>
    [DataContract]
    public sealed class Leg
    {
        [DataMember(Name = "endpoint")] public string Endpoint { get; private set; }
        [DataMember(Name = "end_time")] public string EndTime { get; private set; }
        [DataMember(Name = "hang_cause")] public string HangCause { get; private set; }
    }

    /// <summary>A call or conference record, read from the library's JSON of it. Use Answered,
    /// not Status: the service reports "SUCCESS" even when nobody picked up.</summary>
    [DataContract]
    public sealed class CallRecord
    {
        [DataMember(Name = "session")] public string Session { get; private set; }
        [DataMember(Name = "init_account")] public string InitAccount { get; private set; }
        [DataMember(Name = "caller")] public string Caller { get; private set; }
        [DataMember(Name = "callee")] public string Callee { get; private set; }
        /// <summary>The conference members, or null for a two-party call.</summary>
        [DataMember(Name = "members")] public string[] Members { get; private set; }
        [DataMember(Name = "create_time_ms")] public ulong? CreateTimeMs { get; private set; }
        [DataMember(Name = "start_time")] public string StartTime { get; private set; }
        [DataMember(Name = "duration_sec")] public ulong? DurationSec { get; private set; }
        [DataMember(Name = "status")] public string Status { get; private set; }
        [DataMember(Name = "legs")] public Leg[] Legs { get; private set; }
        [DataMember(Name = "answered")] public bool Answered { get; private set; }
        [DataMember(Name = "billed_minutes")] public ulong BilledMinutes { get; private set; }
        /// <summary>The cost in fen at the published 0.12 yuan a minute.</summary>
        [DataMember(Name = "cost_fen")] public ulong CostFen { get; private set; }
        [DataMember(Name = "is_conference")] public bool IsConference { get; private set; }
        /// <summary>The whole record as JSON, including the raw fields this type does not model
        /// (from a callback, the event's JSON: the same fields and "type").</summary>
        public string Json { get; private set; }

        internal static CallRecord Parse(string json)
        {
            CallRecord record = JsonText.Read<CallRecord>(json);
            record.Json = json;
            record.Legs = record.Legs ?? new Leg[0];
            return record;
        }

        internal static CallRecord From(CallRecordHandle handle)
        {
            using (handle)
            {
                Native.Check(Native.yx_call_record_to_json(handle, out IntPtr json, out IntPtr err), err);
                return Parse(Native.Take(json));
            }
        }
    }

    /// <summary>What a callback carried: a call-end record, or another event passed through.</summary>
    [DataContract]
    public sealed class CallbackEvent
    {
        /// <summary>YX_EVENT_CALL_END of yx_event_kind.</summary>
        private const int CallEnd = 1;

        /// <summary>True for eventType 10 (Record is set); false for other events (EventType and
        /// Raw are set).</summary>
        public bool IsCallEnd { get; private set; }
        [DataMember(Name = "event_type")] public string EventType { get; private set; }
        [DataMember(Name = "raw")] public string Raw { get; private set; }
        public CallRecord Record { get; private set; }

        internal static CallbackEvent From(CallbackEventHandle handle)
        {
            using (handle)
            {
                Native.Check(Native.yx_callback_event_to_json(handle, out IntPtr json, out IntPtr err), err);
                string text = Native.Take(json);
                // The kind picks the contract: a call end's "raw" is the decoded record (an
                // object), another event's the body as received (a string).
                return Native.yx_callback_event_kind(handle) == CallEnd
                    ? new CallbackEvent { IsCallEnd = true, Record = CallRecord.Parse(text) }
                    : JsonText.Read<CallbackEvent>(text);
            }
        }
    }

    /// <summary>Verifies call-end callbacks for one app, or for several credentials at once (an
    /// AppSecret being rotated: the old and the new; several apps served by one endpoint); one
    /// instance may serve all threads.</summary>
    public sealed class CallbackVerifier : IDisposable
    {
        /// <summary>The most ReadBody asks of the stream at once.</summary>
        private const int ChunkBytes = 64 * 1024;

        private readonly CallbackVerifierHandle handle;
        private readonly string[] appKeys;
        /// <summary>The guard Handle uses when given none: deliveries kept in this process.</summary>
        private readonly Lazy<DeliveryGuard> ownGuard = new Lazy<DeliveryGuard>(() => new DeliveryGuard());

        /// <summary>Refuses callbacks whose CurTime is more than toleranceMs away (0 is not "off").</summary>
        public CallbackVerifier(Credentials credentials, ulong toleranceMs = 300000)
            : this(new[] { credentials }, Tolerance(toleranceMs))
        {
        }

        /// <summary>Accepts a callback signed with any of 1 to 8 credentials (else a
        /// ValidationException, Field "credentials", Rule "count"), each tried whatever the
        /// outcome; Verify says which matched. During a rotation: new CallbackVerifier(new[] { old,
        /// fresh }).</summary>
        public CallbackVerifier(IEnumerable<Credentials> credentials, ulong toleranceMs = 300000)
            : this(credentials, Tolerance(toleranceMs))
        {
        }

        private static string Tolerance(ulong toleranceMs) => "{\"tolerance_ms\":" + toleranceMs.ToString(CultureInfo.InvariantCulture) + "}";

        private CallbackVerifier(IEnumerable<Credentials> credentials, string options)
        {
            Native.Ready();
            if (credentials == null)
            {
                throw new ArgumentNullException(nameof(credentials));
            }
            var list = new List<Credentials>(credentials);
            var pointers = new IntPtr[list.Count];
            var held = new List<SafeHandle>();
            try
            {
                for (int i = 0; i < list.Count; i++)
                {
                    if (list[i] == null)
                    {
                        throw new ArgumentNullException(nameof(credentials), "credentials[" + i + "] is null");
                    }
                    bool added = false;
                    list[i].Handle.DangerousAddRef(ref added);
                    held.Add(list[i].Handle);
                    pointers[i] = list[i].Handle.DangerousGetHandle();
                }
                Native.Check(Native.yx_callback_verifier_new_multi(pointers, new UIntPtr((uint)pointers.Length), Native.Utf8(options, "options"), out handle, out IntPtr err), err);
            }
            finally
            {
                held.ForEach(h => h.DangerousRelease());
            }
            appKeys = list.ConvertAll(c => c.AppKey).ToArray();
        }

        /// <summary>Does not check CurTime: only for re-verifying stored callbacks.</summary>
        public static CallbackVerifier SkipTimeCheck(Credentials credentials) => new CallbackVerifier(new[] { credentials }, "{\"check_time\":false}");

        /// <summary>SkipTimeCheck over several credentials.</summary>
        public static CallbackVerifier SkipTimeCheck(IEnumerable<Credentials> credentials) => new CallbackVerifier(credentials, "{\"check_time\":false}");

        /// <summary>The AppKey of each credentials, in the order given.</summary>
        public string[] AppKeys => (string[])appKeys.Clone();

        /// <summary>The most bytes of a callback body ReadBody, VerifyAndParse(HttpListenerRequest)
        /// and Handle read unless told otherwise: the library's (1 MiB, where a call-end callback is
        /// a few KiB).</summary>
        public static int DefaultMaxBodyBytes
        {
            get
            {
                Native.Ready();
                return checked((int)Native.yx_callback_default_max_body_bytes());
            }
        }

        /// <summary>Verifies the raw body bytes against the headers at nowMs (Unix milliseconds;
        /// null or 0: the clock); throws CallbackException. Returns the Delivery: which credentials
        /// matched, and what identifies it for a DeliveryGuard. The headers as pairs (a name sent
        /// twice appears twice); for the other shapes servers give them in, see the overloads.</summary>
        public Delivery Verify(byte[] body, IEnumerable<KeyValuePair<string, string>> headers, ulong? nowMs = null)
        {
            using (var strings = new Native.Strings())
            {
                Pair[] array = strings.Pairs(headers, "header");
                Native.Check(Native.yx_callback_verifier_verify_delivery_only(handle, body, Native.Length(body), array, new UIntPtr((uint)array.Length), nowMs ?? 0, out DeliveryView view, IntPtr.Zero, out IntPtr err), err);
                return Delivery.From(view, appKeys);
            }
        }

        /// <summary>Verify, with the headers as HttpListenerRequest.Headers or classic ASP.NET's
        /// Request.Headers give them: each value of a name (GetValues) is passed on its own, so a
        /// repeated MD5, CheckSum, CurTime or AppKey is refused (Reason "duplicate_header").</summary>
        public Delivery Verify(byte[] body, NameValueCollection headers, ulong? nowMs = null) => Verify(body, Native.Each(headers), nowMs);

        /// <summary>Verify, with the headers as names with lists of values: HttpHeaders
        /// (IEnumerable&lt;KeyValuePair&lt;string, IEnumerable&lt;string&gt;&gt;&gt;), ASP.NET Core's
        /// IHeaderDictionary (StringValues), an IDictionary&lt;string, string[]&gt;. Each value is
        /// passed on its own, so a repeated MD5, CheckSum, CurTime or AppKey is refused (Reason
        /// "duplicate_header").</summary>
        public Delivery Verify<TValues>(byte[] body, IEnumerable<KeyValuePair<string, TValues>> headers, ulong? nowMs = null)
            where TValues : IEnumerable<string>
            => Verify(body, Native.Each(headers), nowMs);

        /// <summary>Verifies, then parses: the Delivery, and the event in callbackEvent, for a
        /// handler that guards against repeated deliveries itself (DeliveryGuard.Admit and Settle).
        /// A genuine body that is not a callback is a CallbackException with Reason "malformed".</summary>
        public Delivery VerifyDelivery(byte[] body, IEnumerable<KeyValuePair<string, string>> headers, out CallbackEvent callbackEvent, ulong? nowMs = null)
        {
            using (var strings = new Native.Strings())
            {
                Pair[] array = strings.Pairs(headers, "header");
                Native.Check(Native.yx_callback_verifier_verify_delivery(handle, body, Native.Length(body), array, new UIntPtr((uint)array.Length), nowMs ?? 0, out DeliveryView view, out CallbackEventHandle evt, out IntPtr err), err);
                callbackEvent = CallbackEvent.From(evt);
                return Delivery.From(view, appKeys);
            }
        }

        /// <summary>VerifyDelivery, with the headers of a NameValueCollection (see Verify).</summary>
        public Delivery VerifyDelivery(byte[] body, NameValueCollection headers, out CallbackEvent callbackEvent, ulong? nowMs = null)
            => VerifyDelivery(body, Native.Each(headers), out callbackEvent, nowMs);

        /// <summary>VerifyDelivery, with the headers as names with lists of values (see Verify).</summary>
        public Delivery VerifyDelivery<TValues>(byte[] body, IEnumerable<KeyValuePair<string, TValues>> headers, out CallbackEvent callbackEvent, ulong? nowMs = null)
            where TValues : IEnumerable<string>
            => VerifyDelivery(body, Native.Each(headers), out callbackEvent, nowMs);

        /// <summary>Verifies, then parses: the usual entry point of a web handler.</summary>
        public CallbackEvent VerifyAndParse(byte[] body, IEnumerable<KeyValuePair<string, string>> headers, ulong? nowMs = null)
        {
            using (var strings = new Native.Strings())
            {
                Pair[] array = strings.Pairs(headers, "header");
                Native.Check(Native.yx_callback_verifier_verify_and_parse(handle, body, Native.Length(body), array, new UIntPtr((uint)array.Length), nowMs ?? 0, out CallbackEventHandle evt, out IntPtr err), err);
                return CallbackEvent.From(evt);
            }
        }

        /// <summary>VerifyAndParse, with the headers of a NameValueCollection (see Verify).</summary>
        public CallbackEvent VerifyAndParse(byte[] body, NameValueCollection headers, ulong? nowMs = null)
            => VerifyAndParse(body, Native.Each(headers), nowMs);

        /// <summary>VerifyAndParse, with the headers as names with lists of values (see Verify).</summary>
        public CallbackEvent VerifyAndParse<TValues>(byte[] body, IEnumerable<KeyValuePair<string, TValues>> headers, ulong? nowMs = null)
            where TValues : IEnumerable<string>
            => VerifyAndParse(body, Native.Each(headers), nowMs);

        /// <summary>VerifyAndParse of an HttpListener request: its body read through ReadBody
        /// (at most maxBodyBytes, null: DefaultMaxBodyBytes; over it, a BodyTooLargeException,
        /// AnswerStatus 413) and its Headers. A delivery can repeat: Handle handles each once.</summary>
        public CallbackEvent VerifyAndParse(HttpListenerRequest request, ulong? nowMs = null, int? maxBodyBytes = null)
        {
            if (request == null)
            {
                throw new ArgumentNullException(nameof(request));
            }
            byte[] body = ReadBody(request.InputStream, request.ContentLength64, maxBodyBytes);
            return VerifyAndParse(body, request.Headers, nowMs);
        }

        /// <summary>Handles a callback once, however often it is delivered: verifies it, claims the
        /// delivery in guard, and calls handler(event, delivery) only for its first delivery.
        /// Returns the answer to send (CallbackAnswer.WriteTo writes it to an HttpListenerResponse):
        ///
        /// refused: the refusal's answer (403, 400), the handler not called; handled before: 200
        /// {"result":"duplicate"}, the handler not called again; being handled right now by another
        /// request: 409 (the sender tries again later); the guard's store failed (a
        /// DeliveryStoreException): 503, the handler not called, so that the sender tries again
        /// rather than the callback being dropped or handled twice; handled: 200 with an empty body,
        /// and the delivery completed (its repeats are duplicates from now on). A handler that
        /// throws releases the delivery (the sender's next attempt is handled), and its exception
        /// goes on to the caller.
        ///
        /// guard null: the verifier's own, keeping deliveries in this process's memory (several
        /// processes: a DeliveryGuard over a store they share, an IDeliveryStore of yours);
        /// deduplicate false: none at all (every delivery handled).</summary>
        public CallbackAnswer Handle(byte[] body, IEnumerable<KeyValuePair<string, string>> headers, Action<CallbackEvent, Delivery> handler,
            DeliveryGuard guard = null, bool deduplicate = true, ulong? nowMs = null)
        {
            if (handler == null)
            {
                throw new ArgumentNullException(nameof(handler));
            }
            if (!deduplicate && guard != null)
            {
                throw new ArgumentException("guard is given but deduplicate is false: pass one or the other", nameof(guard));
            }
            Delivery delivery;
            CallbackEvent callbackEvent;
            try
            {
                delivery = VerifyDelivery(body, headers, out callbackEvent, nowMs);
            }
            catch (CallbackException e)
            {
                return e.Answer;
            }
            if (!deduplicate)
            {
                handler(callbackEvent, delivery);
                return CallbackAnswer.Handled;
            }
            guard = guard ?? ownGuard.Value;
            CallbackAnswer turnedAway = guard.Admit(delivery, nowMs);
            if (turnedAway != null)
            {
                return turnedAway;
            }
            try
            {
                handler(callbackEvent, delivery);
            }
            catch (Exception)
            {
                guard.Settle(delivery, false);
                throw;
            }
            guard.Settle(delivery, true);
            return CallbackAnswer.Handled;
        }

        /// <summary>Handle, with the headers of a NameValueCollection (see Verify).</summary>
        public CallbackAnswer Handle(byte[] body, NameValueCollection headers, Action<CallbackEvent, Delivery> handler,
            DeliveryGuard guard = null, bool deduplicate = true, ulong? nowMs = null)
            => Handle(body, Native.Each(headers), handler, guard, deduplicate, nowMs);

        /// <summary>Handle, with the headers as names with lists of values: ASP.NET Core's
        /// IHeaderDictionary, HttpHeaders (see Verify).</summary>
        public CallbackAnswer Handle<TValues>(byte[] body, IEnumerable<KeyValuePair<string, TValues>> headers, Action<CallbackEvent, Delivery> handler,
            DeliveryGuard guard = null, bool deduplicate = true, ulong? nowMs = null)
            where TValues : IEnumerable<string>
            => Handle(body, Native.Each(headers), handler, guard, deduplicate, nowMs);

        /// <summary>Handle of an HttpListener request, answered: its body read through ReadBody (at
        /// most maxBodyBytes, null: DefaultMaxBodyBytes; over it, 413 unread), its headers, and the
        /// answer written to context.Response, which is closed. Returns the answer. A handler's
        /// exception goes on to the caller, the response left open for the caller to answer
        /// (500, say).
        ///
        ///     var listener = new HttpListener();
        ///     listener.Prefixes.Add("http://127.0.0.1:8080/ecp/callback/");
        ///     listener.Start();
        ///     while (true)
        ///     {
        ///         HttpListenerContext context = listener.GetContext();
        ///         verifier.Handle(context, (evt, delivery) => Book(evt.Record), guard);
        ///     }
        /// </summary>
        public CallbackAnswer Handle(HttpListenerContext context, Action<CallbackEvent, Delivery> handler,
            DeliveryGuard guard = null, bool deduplicate = true, ulong? nowMs = null, int? maxBodyBytes = null)
        {
            if (context == null)
            {
                throw new ArgumentNullException(nameof(context));
            }
            CallbackAnswer answer;
            try
            {
                byte[] body = ReadBody(context.Request.InputStream, context.Request.ContentLength64, maxBodyBytes);
                answer = Handle(body, context.Request.Headers, handler, guard, deduplicate, nowMs);
            }
            catch (BodyTooLargeException e)
            {
                answer = e.Answer;
            }
            answer.WriteTo(context.Response);
            return answer;
        }

        /// <summary>Reads a request body to its end, at most maxBodyBytes of it (null:
        /// DefaultMaxBodyBytes), for Verify and VerifyAndParse: a declared contentLength (the
        /// Content-Length header; null or negative: unknown) over the cap is refused before a byte
        /// is read, and a body that turns out longer (chunked, or more than declared) once the cap
        /// is passed, having read at most one byte past it. Both are a BodyTooLargeException
        /// (AnswerStatus 413). ASP.NET Core, whose request bodies refuse synchronous reads by
        /// default: ReadBodyAsync.</summary>
        public static byte[] ReadBody(Stream body, long? contentLength = null, int? maxBodyBytes = null)
        {
            int cap = Cap(maxBodyBytes, body, contentLength);
            var buffer = new byte[Math.Min(ChunkBytes, cap + 1L)];
            using (var kept = new MemoryStream())
            {
                while (true)
                {
                    int want = (int)Math.Min(buffer.Length, cap + 1L - kept.Length);
                    int read = body.Read(buffer, 0, want);
                    if (read <= 0)
                    {
                        return kept.ToArray();
                    }
                    if (kept.Length + read > cap)
                    {
                        throw new BodyTooLargeException(cap);
                    }
                    kept.Write(buffer, 0, read);
                }
            }
        }

        /// <summary>ReadBody, reading asynchronously: ASP.NET Core's
        /// ReadBodyAsync(Request.Body, Request.ContentLength, null, HttpContext.RequestAborted).</summary>
        public static async System.Threading.Tasks.Task<byte[]> ReadBodyAsync(Stream body, long? contentLength = null, int? maxBodyBytes = null,
            System.Threading.CancellationToken cancellationToken = default(System.Threading.CancellationToken))
        {
            int cap = Cap(maxBodyBytes, body, contentLength);
            var buffer = new byte[Math.Min(ChunkBytes, cap + 1L)];
            using (var kept = new MemoryStream())
            {
                while (true)
                {
                    int want = (int)Math.Min(buffer.Length, cap + 1L - kept.Length);
                    int read = await body.ReadAsync(buffer, 0, want, cancellationToken).ConfigureAwait(false);
                    if (read <= 0)
                    {
                        return kept.ToArray();
                    }
                    if (kept.Length + read > cap)
                    {
                        throw new BodyTooLargeException(cap);
                    }
                    kept.Write(buffer, 0, read);
                }
            }
        }

        /// <summary>The cap in force, the arguments checked, and a declared length over it refused.</summary>
        private static int Cap(int? maxBodyBytes, Stream body, long? contentLength)
        {
            int cap = maxBodyBytes ?? DefaultMaxBodyBytes;
            if (cap <= 0)
            {
                throw new ArgumentOutOfRangeException(nameof(maxBodyBytes), cap,
                    "maxBodyBytes must be a positive number of bytes, not " + cap.ToString(CultureInfo.InvariantCulture));
            }
            if (body == null)
            {
                throw new ArgumentNullException(nameof(body));
            }
            if (contentLength > cap)
            {
                throw new BodyTooLargeException(cap);
            }
            return cap;
        }

        public void Dispose() => handle.Dispose();
    }

    /// <summary>A callback that passed verification: which of the verifier's credentials signed it
    /// (Credential, an index, and AppKey), its CurTime, and what identifies this delivery (Key, 40
    /// hex characters: a Redis key or a table's unique column) until ExpiresAtMs, after which a
    /// repeat of it is refused as stale anyway (ulong.MaxValue without a time check).</summary>
    public sealed class Delivery
    {
        public int Credential { get; }
        public string AppKey { get; }
        public ulong CurTimeMs { get; }
        public string Key { get; }
        public ulong ExpiresAtMs { get; }

        private Delivery(int credential, string appKey, ulong curTimeMs, string key, ulong expiresAtMs)
        {
            Credential = credential;
            AppKey = appKey;
            CurTimeMs = curTimeMs;
            Key = key;
            ExpiresAtMs = expiresAtMs;
        }

        internal static Delivery From(DeliveryView view, string[] appKeys)
        {
            int credential = checked((int)view.Credential);
            string key = Encoding.ASCII.GetString(view.Key, 0, Math.Max(0, Array.IndexOf(view.Key, (byte)0)));
            return new Delivery(credential, appKeys[credential], view.CurTimeMs, key, view.ExpiresAtMs);
        }

        public override string ToString() => "Delivery(credential " + Credential + ", app key " + AppKey + ", key " + Key + ")";
    }

    /// <summary>The answer a callback endpoint sends: a status and a body (JSON, or empty).</summary>
    public sealed class CallbackAnswer
    {
        public int Status { get; }
        public string Body { get; }

        private CallbackAnswer(int status, string body)
        {
            Status = status;
            Body = body;
        }

        /// <summary>The library's answer for reason, the same in every language: a refusal's reason
        /// (400 "malformed", 403 the others, 413 "too_large"), "in_progress" (409),
        /// "store_unavailable" (503) or "duplicate" (200 {"result":"duplicate"}).</summary>
        public static CallbackAnswer ForReason(string reason)
        {
            Native.Ready();
            Native.Check(Native.yx_callback_answer(Native.Utf8(reason, "reason"), out ushort status, out IntPtr body, out IntPtr err), err);
            return new CallbackAnswer(status, Native.Take(body));
        }

        /// <summary>A callback handled: 200, nothing more to say.</summary>
        internal static CallbackAnswer Handled => new CallbackAnswer(200, "");

        /// <summary>Writes it as an HttpListener response and closes the response: the status, the
        /// JSON Content-Type and the body.</summary>
        public void WriteTo(HttpListenerResponse response)
        {
            if (response == null)
            {
                throw new ArgumentNullException(nameof(response));
            }
            response.StatusCode = Status;
            byte[] bytes = Encoding.UTF8.GetBytes(Body);
            if (bytes.Length > 0)
            {
                response.ContentType = "application/json";
            }
            response.ContentLength64 = bytes.Length;
            response.OutputStream.Write(bytes, 0, bytes.Length);
            response.Close();
        }
    }

    /// <summary>What a store says of a delivery it is asked to claim.</summary>
    public enum DeliveryClaim
    {
        /// <summary>Not seen before (or released): now in progress; the handler runs.</summary>
        First = 1,
        /// <summary>Handled before: answer 200, do not handle it again.</summary>
        Duplicate = 2,
        /// <summary>Being handled right now by another request: answer 409, the sender tries later.</summary>
        InProgress = 3,
    }

    /// <summary>Where accepted deliveries are remembered, for a DeliveryGuard: the library's memory
    /// (MemoryDeliveryStore), or a store of your own that several processes share (Redis: Claim is
    /// SET key pending NX PXAT expiresAtMs, then GET; Complete SET key done PXAT expiresAtMs;
    /// Release DEL key; or a table with a unique key column). Each method must be one atomic step
    /// of the store, so that two requests carrying the same delivery at once get one First between
    /// them. The guard calls it from C#, never through the library. Whatever it throws is a
    /// DeliveryStoreException naming its type and the step.</summary>
    public interface IDeliveryStore
    {
        /// <summary>Marks key in progress unless the store holds it; says what it held.
        /// expiresAtMs: when the entry may be forgotten.</summary>
        DeliveryClaim Claim(string key, ulong expiresAtMs, ulong nowMs);

        /// <summary>Marks a claimed key handled: every later claim is Duplicate.</summary>
        void Complete(string key, ulong expiresAtMs);

        /// <summary>Forgets a claimed key whose handler failed, so that the next delivery is handled.</summary>
        void Release(string key);
    }

    /// <summary>Deliveries kept in this process's memory by the library: each only while a repeat
    /// would pass the time check, at most capacity of them (null: the library's default, 100000).
    /// Thread-safe: each step is atomic.</summary>
    public sealed class MemoryDeliveryStore : IDeliveryStore, IDisposable
    {
        private readonly DeliveryGuardHandle handle;

        public MemoryDeliveryStore(int? capacity = null)
        {
            Native.Ready();
            string options = capacity.HasValue ? "{\"capacity\":" + capacity.Value.ToString(CultureInfo.InvariantCulture) + "}" : null;
            Native.Check(Native.yx_delivery_guard_new(Native.Utf8(options, "options"), out handle, out IntPtr err), err);
        }

        public DeliveryClaim Claim(string key, ulong expiresAtMs, ulong nowMs)
        {
            Native.Check(Native.yx_delivery_guard_claim(handle, Native.Utf8(key, "key"), expiresAtMs, nowMs, out int claim, out IntPtr err), err);
            return (DeliveryClaim)claim;
        }

        public void Complete(string key, ulong expiresAtMs)
        {
            Native.Check(Native.yx_delivery_guard_complete(handle, Native.Utf8(key, "key"), expiresAtMs, out IntPtr err), err);
        }

        public void Release(string key)
        {
            Native.Check(Native.yx_delivery_guard_release(handle, Native.Utf8(key, "key"), out IntPtr err), err);
        }

        /// <summary>Deliveries held now.</summary>
        public long Held => (long)Native.yx_delivery_guard_held(handle).ToUInt64();

        /// <summary>Deliveries dropped before they expired to stay within the capacity: above 0,
        /// raise it.</summary>
        public long Evicted => (long)Native.yx_delivery_guard_evicted(handle);

        public void Dispose() => handle.Dispose();
    }

    /// <summary>Guards a handler against processing one callback twice: Claim before handling it
    /// says First (handle it, then Complete it, or Release it when handling failed so that the
    /// sender's next attempt is handled), Duplicate (handled before: answer 200) or InProgress
    /// (another request is handling it: answer 409 so the sender tries later). Admit and Settle do
    /// that with the answers, for an integration of your own (CallbackVerifier.Handle uses
    /// them). Thread-safe when its store is.</summary>
    public sealed class DeliveryGuard : IDisposable
    {
        private readonly IDeliveryStore store;
        private readonly bool ownsStore;

        /// <summary>A guard over store, or, when null, over a MemoryDeliveryStore of capacity
        /// (null: the library's default); a capacity with a store of your own is refused.</summary>
        public DeliveryGuard(IDeliveryStore store = null, int? capacity = null)
        {
            if (store != null && capacity.HasValue)
            {
                throw new ArgumentException("capacity is for the memory store: pass a store or a capacity, not both", nameof(capacity));
            }
            ownsStore = store == null;
            this.store = store ?? new MemoryDeliveryStore(capacity);
        }

        public IDeliveryStore Store => store;

        /// <summary>Claims a verified delivery at nowMs (null: now). A store that fails is a
        /// DeliveryStoreException.</summary>
        public DeliveryClaim Claim(Delivery delivery, ulong? nowMs = null)
        {
            Checked(delivery);
            ulong now = nowMs ?? (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            DeliveryClaim claim = Step("claim", () => store.Claim(delivery.Key, delivery.ExpiresAtMs, now));
            if (claim != DeliveryClaim.First && claim != DeliveryClaim.Duplicate && claim != DeliveryClaim.InProgress)
            {
                throw new DeliveryStoreException("the store's Claim() must return First, Duplicate or InProgress, not "
                    + ((int)claim).ToString(CultureInfo.InvariantCulture), "claim");
            }
            return claim;
        }

        /// <summary>The handler of a claimed delivery succeeded: repeats are duplicates from now on.</summary>
        public void Complete(Delivery delivery)
        {
            Checked(delivery);
            Step("complete", () => { store.Complete(delivery.Key, delivery.ExpiresAtMs); return 0; });
        }

        /// <summary>The handler of a claimed delivery failed: the sender's next attempt is handled.</summary>
        public void Release(Delivery delivery)
        {
            Checked(delivery);
            Step("release", () => { store.Release(delivery.Key); return 0; });
        }

        /// <summary>Claims delivery; null when its handler is to run, else the answer that ends the
        /// request without it: a duplicate (200 {"result":"duplicate"}), one being handled by
        /// another request (409), a failed store (503, said on Console.Error: the store's type and
        /// step only).</summary>
        public CallbackAnswer Admit(Delivery delivery, ulong? nowMs = null)
        {
            DeliveryClaim claim;
            try
            {
                claim = Claim(delivery, nowMs);
            }
            catch (DeliveryStoreException e)
            {
                Say("call-end callback turned away (503): " + e.Message);
                return CallbackAnswer.ForReason("store_unavailable");
            }
            switch (claim)
            {
                case DeliveryClaim.First: return null;
                case DeliveryClaim.Duplicate: return CallbackAnswer.ForReason("duplicate");
                default: return CallbackAnswer.ForReason("in_progress");
            }
        }

        /// <summary>After the handler of an admitted delivery: completes it when handled, else
        /// releases it. A failing store is said on Console.Error (its type and step): the answer
        /// stands.</summary>
        public void Settle(Delivery delivery, bool handled)
        {
            try
            {
                if (handled)
                {
                    Complete(delivery);
                }
                else
                {
                    Release(delivery);
                }
            }
            catch (DeliveryStoreException e)
            {
                Say("call-end callback " + (handled ? "completion" : "failure") + " not recorded: " + e.Message);
            }
        }

        /// <summary>Deliveries held in memory (null with a store of your own).</summary>
        public long? Held => (store as MemoryDeliveryStore)?.Held;

        /// <summary>Deliveries dropped from memory to stay within the capacity (null with a store of
        /// your own).</summary>
        public long? Evicted => (store as MemoryDeliveryStore)?.Evicted;

        /// <summary>Frees the memory store the guard made (a store given to it stays the caller's).</summary>
        public void Dispose()
        {
            if (ownsStore)
            {
                ((MemoryDeliveryStore)store).Dispose();
            }
        }

        private static void Checked(Delivery delivery)
        {
            if (delivery == null)
            {
                throw new ArgumentNullException(nameof(delivery));
            }
        }

        /// <summary>One step of the store; what a store of your own throws becomes a
        /// DeliveryStoreException naming its type and the step (its message and inner exceptions
        /// stay out: they may hold secrets).</summary>
        private T Step<T>(string step, Func<T> call)
        {
            if (store is MemoryDeliveryStore)
            {
                return call();
            }
            try
            {
                return call();
            }
            catch (Exception e)
            {
                throw new DeliveryStoreException(e.GetType().FullName + " thrown by the store's " + step + "()", step);
            }
        }

        private static void Say(string line)
        {
            try
            {
                Console.Error.WriteLine("yunxin_ecp: " + line);
            }
            catch (Exception)
            {
                // Nowhere left to say it; the answer stands.
            }
        }
    }

    /// <summary>Settings of an EcpClient; null keeps the library's default. Written as the settings
    /// JSON of yx_client_new, so a refused value is named by its key ("timeout_ms", ...).</summary>
    [DataContract]
    public sealed class ClientOptions
    {
        /// <summary>Default: the environment variable YUNXIN_BASE_URL when set, else
        /// https://api.netease.im; a local mock's URL in tests.</summary>
        [DataMember(Name = "base_url", EmitDefaultValue = false)] public string BaseUrl { get; set; }
        /// <summary>Default 5000.</summary>
        [DataMember(Name = "connect_timeout_ms", EmitDefaultValue = false)] public ulong? ConnectTimeoutMs { get; set; }
        /// <summary>Default 15000, per attempt.</summary>
        [DataMember(Name = "timeout_ms", EmitDefaultValue = false)] public ulong? TimeoutMs { get; set; }
        /// <summary>Default 2, only where a retry cannot place a second call.</summary>
        [DataMember(Name = "max_retries", EmitDefaultValue = false)] public uint? MaxRetries { get; set; }
        /// <summary>Default 200, doubling per retry.</summary>
        [DataMember(Name = "backoff_ms", EmitDefaultValue = false)] public ulong? BackoffMs { get; set; }
        /// <summary>Default 1048576; a longer answer is a ProtocolException (Reason "too_large").</summary>
        [DataMember(Name = "max_response_bytes", EmitDefaultValue = false)] public ulong? MaxResponseBytes { get; set; }
    }

    /// <summary>The blocking client: pooled connections, verified TLS, timeouts, safe retries.
    /// One per process, shared by all threads.</summary>
    public sealed class EcpClient : IDisposable
    {
        private readonly ClientHandle handle;

        public EcpClient(Credentials credentials, ClientOptions options)
        {
            options = options ?? new ClientOptions();
            Native.Check(Native.yx_client_new(credentials.Handle, Native.Utf8(JsonText.Write(options), "options"), out handle, out IntPtr err), err);
            // As the library resolved it: the option, else YUNXIN_BASE_URL, else the service.
            BaseUrl = Native.Borrowed(Native.yx_client_base_url(handle));
        }

        /// <summary>Where requests go: ClientOptions.BaseUrl, else the environment variable
        /// YUNXIN_BASE_URL, else https://api.netease.im.</summary>
        public string BaseUrl { get; }

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
            Native.Check(Native.yx_client_start(handle, request.Handle, out IntPtr session, out IntPtr err), err);
            return Native.Take(session);
        }

        /// <summary>The record of a call (SessionKind.Call) or conference (SessionKind.Conference).</summary>
        public CallRecord Query(string session, int kind)
        {
            using (var request = EcpRequest.Query(session, kind))
            {
                Native.Check(Native.yx_client_query(handle, request.Handle, out CallRecordHandle record, out IntPtr err), err);
                return CallRecord.From(record);
            }
        }

        /// <summary>Calls any other server API (see EcpRequest.Api); returns the answer's whole JSON
        /// body. A code other than 200 is an ApiException.</summary>
        public string Request(string path, IEnumerable<KeyValuePair<string, string>> parameters, bool idempotent = false)
        {
            using (var request = EcpRequest.Api(path, parameters, idempotent))
            {
                Native.Check(Native.yx_client_request(handle, request.Handle, out IntPtr json, out IntPtr err), err);
                return Native.Take(json);
            }
        }

        /// <summary>As Request, with the answer read into T, a [DataContract] type of the caller's
        /// (members it does not name are skipped).</summary>
        public T Request<T>(string path, IEnumerable<KeyValuePair<string, string>> parameters, bool idempotent = false)
            => JsonText.Read<T>(Request(path, parameters, idempotent));

        public void Dispose() => handle.Dispose();
    }

    /// <summary>One attempt of an exchange: the request to POST, and the limits to send it within.</summary>
    internal sealed class ExchangeAttempt
    {
        internal PreparedRequest Request;
        internal AttemptLimits Limits;
    }

    /// <summary>What an exchange said after an attempt's outcome: wait WaitMs, then send again;
    /// or done (WaitMs -1) with Answer: a start's session, a query's record JSON, another API's
    /// whole JSON body.</summary>
    internal sealed class ExchangeStep
    {
        internal long WaitMs;
        internal string Answer;
        internal bool Done => WaitMs < 0;
    }

    /// <summary>yx_exchange: one request's exchange with the service, driven by an HTTP stack
    /// of the caller's (YunxinEcpAsync.cs drives it over HttpClient). The library decides
    /// everything (the signature of each attempt, redirects refused, the size cap, retry or not
    /// and after how long, redaction, outcome unknown); the driver only sends, reads within the
    /// limits, waits when told, and says what happened. An error ends it: the step throws the
    /// exception the blocking client would (Native.Check). One thread at a time.</summary>
    internal sealed class Exchange : IDisposable
    {
        /// <summary>yx_transport_kind.</summary>
        internal const int Connect = 1;
        internal const int Timeout = 2;
        internal const int Tls = 3;
        internal const int Io = 4;

        private readonly ExchangeHandle handle;

        /// <summary>settingsJson as for EcpClient (null: the defaults); entropyJson null in
        /// production, else the nonces, clock and jitter a test fixes.</summary>
        internal Exchange(Credentials credentials, EcpRequest request, string settingsJson, string entropyJson = null)
        {
            if (credentials == null)
            {
                throw new ArgumentNullException(nameof(credentials));
            }
            if (request == null)
            {
                throw new ArgumentNullException(nameof(request));
            }
            Native.Check(Native.yx_exchange_new(credentials.Handle, request.Handle, Native.Utf8(settingsJson, "settings"), Native.Utf8(entropyJson, "entropy"), out handle, out IntPtr err), err);
        }

        /// <summary>The next attempt, signed now.</summary>
        internal ExchangeAttempt Send()
        {
            Native.Check(Native.yx_exchange_send(handle, out PreparedRequestHandle prepared, out AttemptLimits limits, out IntPtr err), err);
            return new ExchangeAttempt { Request = PreparedRequest.From(prepared), Limits = limits };
        }

        /// <summary>The answer came: its status, its Location header (null when none), the first
        /// length bytes of body (at most the attempt's MaxResponseBytes).</summary>
        internal ExchangeStep Receive(int status, string location, byte[] body, int length, ulong elapsedMs)
        {
            if (body == null ? length != 0 : (length < 0 || length > body.Length))
            {
                throw new ArgumentOutOfRangeException(nameof(length));
            }
            int result = Native.yx_exchange_receive(handle, Status(status), Native.Utf8(location, "location"), body ?? new byte[0], new UIntPtr((uint)length), elapsedMs, out long wait, out IntPtr answer, out IntPtr err);
            return Next(result, wait, answer, err);
        }

        /// <summary>The answer was longer than the attempt's MaxResponseBytes; reading stopped.</summary>
        internal ExchangeStep TooLarge(int status, ulong elapsedMs)
        {
            int result = Native.yx_exchange_too_large(handle, Status(status), elapsedMs, out long wait, out IntPtr answer, out IntPtr err);
            return Next(result, wait, answer, err);
        }

        /// <summary>No complete answer came: kind (Connect, Timeout, Tls, Io), maybeSent false
        /// only when the request provably never left, detail what the HTTP stack said (it goes
        /// into the error, never into the events).</summary>
        internal ExchangeStep Fail(int kind, bool maybeSent, string detail, ulong elapsedMs)
        {
            int result = Native.yx_exchange_fail(handle, kind, maybeSent ? 1 : 0, Native.Utf8(detail, "detail"), elapsedMs, out long wait, out IntPtr answer, out IntPtr err);
            return Next(result, wait, answer, err);
        }

        /// <summary>Gives up (maybeSent: the attempt in flight may have left); returns the advice
        /// for the request: "outcome_unknown" when it may have taken effect, else "safe".</summary>
        internal string Cancel(bool maybeSent)
        {
            Native.Check(Native.yx_exchange_cancel(handle, maybeSent ? 1 : 0, out int advice, out IntPtr err), err);
            return advice >= 0 && advice < Ecp.RetryWords.Length ? Ecp.RetryWords[advice] : "never";
        }

        /// <summary>The events since the last call, oldest first (level, line): what the blocking
        /// client logs, no header, body or secret.</summary>
        internal List<KeyValuePair<LogLevel, string>> Events()
        {
            Native.Check(Native.yx_exchange_events_json(handle, out IntPtr json, out IntPtr err), err);
            var events = new List<KeyValuePair<LogLevel, string>>();
            foreach (EventView e in JsonText.Read<EventView[]>(Native.Take(json)))
            {
                events.Add(new KeyValuePair<LogLevel, string>(Level(e.Level), e.Line));
            }
            return events;
        }

        /// <summary>The events since the last step, to Ecp.SetLogHandler's handler (when one is
        /// installed), as the blocking client's reach it.</summary>
        internal void Log()
        {
            if (!LogBridge.Active)
            {
                return;
            }
            foreach (var e in Events())
            {
                LogBridge.Deliver(e.Key, e.Value);
            }
        }

        /// <summary>The record a query's exchange ended with.</summary>
        internal CallRecord Record()
        {
            Native.Check(Native.yx_exchange_record(handle, out CallRecordHandle record, out IntPtr err), err);
            return CallRecord.From(record);
        }

        public void Dispose() => handle.Dispose();

        private static ushort Status(int status)
        {
            if (status < 0 || status > ushort.MaxValue)
            {
                throw new ArgumentOutOfRangeException(nameof(status), status, "an HTTP status");
            }
            return (ushort)status;
        }

        private static ExchangeStep Next(int result, long wait, IntPtr answer, IntPtr err)
        {
            Native.Check(result, err);
            return new ExchangeStep { WaitMs = wait, Answer = wait < 0 ? Native.Take(answer) : null };
        }

        private static LogLevel Level(string word)
        {
            switch (word)
            {
                case "error": return LogLevel.Error;
                case "warn": return LogLevel.Warn;
                case "info": return LogLevel.Info;
                case "trace": return LogLevel.Trace;
                default: return LogLevel.Debug;
            }
        }

        [DataContract]
        private sealed class EventView
        {
            [DataMember(Name = "level")] internal string Level { get; set; }
            [DataMember(Name = "line")] internal string Line { get; set; }
        }
    }

    /// <summary>A POST the mock's inbox received. The body comes from the inbox's text of it: byte
    /// for byte what was sent for a UTF-8 body, as callbacks are.</summary>
    public sealed class ReceivedCallback
    {
        public byte[] Body { get; internal set; }
        public KeyValuePair<string, string>[] Headers { get; internal set; }
    }

    /// <summary>The local mock of the ECP API, in-process on an ephemeral port of 127.0.0.1,
    /// steered through its /_mock/ control API (Control). Dispose stops it.</summary>
    public sealed class MockServer : IDisposable
    {
        private readonly MockServerHandle handle;

        private MockServer(MockServerHandle handle) => this.handle = handle;

        public static string SampleAppKey
        {
            get
            {
                Native.Ready();
                return Native.Borrowed(Native.yx_mock_sample_app_key());
            }
        }
        public static string SampleAppSecret
        {
            get
            {
                Native.Ready();
                return Native.Borrowed(Native.yx_mock_sample_app_secret());
            }
        }

        public static MockServer Start()
        {
            Native.Ready();
            Native.Check(Native.yx_mock_server_start(out MockServerHandle handle, out IntPtr err), err);
            return new MockServer(handle);
        }

        public string BaseUrl => Native.Borrowed(Native.yx_mock_server_base_url(handle));
        /// <summary>A callback URL that records what it receives (read with Inbox).</summary>
        public string InboxUrl => BaseUrl + "/_mock/inbox";
        public ulong StartCount => JsonText.Read<MockStats>(StatsJson()).StartCount;
        /// <summary>Calls and conferences placed; each gets a call-end callback.</summary>
        public ulong SessionCount => JsonText.Read<MockStats>(StatsJson()).Sessions;

        /// <summary>One request to the control API: method "GET" or "POST", a path such as
        /// "/_mock/stats", formBody null or e.g. "kind=delay&amp;ms=1500"; returns the answer's
        /// JSON. A request the mock refuses is a YunxinEcpException (Result.InvalidArgument).</summary>
        public string Control(string method, string path, string formBody = null)
        {
            Native.Check(Native.yx_mock_server_control(handle, Native.Utf8(method, "method"), Native.Utf8(path, "path"), Native.Utf8(formBody, "formBody"), out IntPtr json, out IntPtr err), err);
            return Native.Take(json);
        }

        /// <summary>POSTs the fields (name, value, name, value, ...), form-encoded.</summary>
        private void Post(string path, params object[] fields)
        {
            var form = new StringBuilder();
            for (int i = 0; i + 1 < fields.Length; i += 2)
            {
                string value = Convert.ToString(fields[i + 1], CultureInfo.InvariantCulture);
                form.Append(i == 0 ? "" : "&").Append(fields[i]).Append('=').Append(Uri.EscapeDataString(value));
            }
            Control("POST", path, form.ToString());
        }

        public void SetOutcomeAnswered(string number, ulong durationSec) => Post("/_mock/outcome", "number", number, "duration_sec", durationSec);

        public void SetOutcomeNoAnswer(string number, string hangCause) => Post("/_mock/outcome", "number", number, "hang_cause", hangCause);

        public void InjectFault(string kind, uint times = 1, ulong ms = 0, uint bytes = 0) => Post("/_mock/fault", "kind", kind, "times", times, "ms", ms, "bytes", bytes);

        public void ClearFaults() => Post("/_mock/faults/clear");

        /// <summary>Where call-end callbacks go; null or "" for nowhere.</summary>
        public void SetCallbackUrl(string url) => Post("/_mock/callback_url", "url", url ?? "");

        public void SetEcpEnabled(bool enabled) => Post("/_mock/ecp_enabled", "enabled", enabled ? "true" : "false");

        public void Reset() => Post("/_mock/reset");

        public string StatsJson() => Control("GET", "/_mock/stats");

        /// <summary>The callback deliveries as GET /_mock/callbacks shows them, CheckSum redacted:
        /// verify a delivery as the receiver got it (Inbox).</summary>
        public string CallbacksJson() => Control("GET", "/_mock/callbacks");

        /// <summary>Waits for at least count inbox POSTs (or the timeout); returns how many arrived.</summary>
        public int WaitForInbox(int count, ulong timeoutMs)
        {
            Native.Check(Native.yx_mock_server_wait_for_inbox(handle, new UIntPtr((uint)Math.Max(count, 0)), timeoutMs, out IntPtr json, out IntPtr err), err);
            return JsonText.Read<InboxEntry[]>(Native.Take(json)).Length;
        }

        /// <summary>The index-th POST the inbox received, in order of arrival, headers as received:
        /// read from the mock in this process, since GET /_mock/inbox, open to anyone who reaches
        /// the port, redacts CheckSum.</summary>
        public ReceivedCallback Inbox(int index)
        {
            Native.Check(Native.yx_mock_server_wait_for_inbox(handle, UIntPtr.Zero, 0, out IntPtr json, out IntPtr err), err);
            InboxEntry[] inbox = JsonText.Read<InboxEntry[]>(Native.Take(json));
            if (index < 0 || index >= inbox.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(index), "the inbox holds " + inbox.Length + " POSTs");
            }
            string[][] headers = inbox[index].Headers;
            var pairs = new KeyValuePair<string, string>[headers.Length];
            for (int i = 0; i < pairs.Length; i++)
            {
                pairs[i] = new KeyValuePair<string, string>(headers[i][0], headers[i][1]);
            }
            return new ReceivedCallback { Body = Encoding.UTF8.GetBytes(inbox[index].Body), Headers = pairs };
        }

        public void Dispose() => handle.Dispose();

        [DataContract]
        private sealed class MockStats
        {
            [DataMember(Name = "start_count")] internal ulong StartCount { get; set; }
            [DataMember(Name = "sessions")] internal ulong Sessions { get; set; }
        }

        [DataContract]
        private sealed class InboxEntry
        {
            [DataMember(Name = "headers")] internal string[][] Headers { get; set; }
            [DataMember(Name = "body")] internal string Body { get; set; }
        }
    }
}
