// yunxin_ecp for C#, asynchronous: AsyncEcpClient places and queries calls with async/await over
// .NET's own HttpClient, each request driven by the library's exchange (yx_exchange_*), so it
// decides exactly what the blocking EcpClient decides: each attempt signed afresh, redirects
// refused, the answer's size capped, retry or not and after how long, secrets redacted, outcome
// unknown. This file only sends, reads within the attempt's limits, waits when told and says
// what happened.
//
// It goes with YunxinEcp.cs, compiled into the same assembly (it uses the wrapper's internals),
// and needs System.Net.Http besides (Debian: libmono-system-net-http4.0-cil):
//
//     mcs -langversion:7.2 -r:System.Runtime.Serialization.dll -r:System.Xml.dll -r:System.Net.Http.dll \
//         -out:YourApp.exe YunxinEcp.cs YunxinEcpAsync.cs YourApp.cs
//
//     using (var creds = Credentials.FromEnvironment())
//     using (var client = new AsyncEcpClient(creds, new ClientOptions()))
//     {
//         string session = await client.StartCallAsync("liuxuanlin", "13888888888", "13777777777", 100, token);
//         CallRecord record = await client.QueryAsync(session, SessionKind.Call, token);
//     }
//
// Errors are the blocking client's exceptions (ApiException, ProtocolException with Reason
// "redirect" or "too_large", TransportException with MaybeSent, ...), with the same RetryAdvice.
// A cancelled token ends the request with an ExchangeCanceledException (an
// OperationCanceledException) whose RetryAdvice is "outcome_unknown" when a start (or a request
// not marked idempotent) may have left: query before placing it again. Log events reach
// Ecp.SetLogHandler's handler, the same lines at the same levels as the blocking client's.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace YunxinEcp
{
    /// <summary>A request given up through its CancellationToken. RetryAdvice says what the
    /// blocking client's exceptions say: "outcome_unknown" when an attempt was in flight and the
    /// request may have taken effect (a start may have placed a call: query it before placing it
    /// again), else "safe" (nothing was in flight, or a query). Also in Data["RetryAdvice"] and
    /// Data["MaybeSent"], for code that catches OperationCanceledException.</summary>
    public sealed class ExchangeCanceledException : OperationCanceledException
    {
        /// <summary>"safe" or "outcome_unknown".</summary>
        public string RetryAdvice { get; }

        /// <summary>Whether the attempt in flight when the token was cancelled may have reached the
        /// service (false when none was in flight).</summary>
        public bool MaybeSent { get; }

        internal ExchangeCanceledException(string advice, bool maybeSent, CancellationToken token)
            : base(advice == "outcome_unknown"
                ? "the request was cancelled with an attempt in flight that may have reached the service: its outcome is unknown (query before sending it again)"
                : "the request was cancelled; nothing it sent can have taken effect", token)
        {
            RetryAdvice = advice;
            MaybeSent = maybeSent;
            Data["RetryAdvice"] = advice;
            Data["MaybeSent"] = maybeSent;
        }
    }

    /// <summary>The asynchronous client: each request an exchange of the library driven over one
    /// HttpClient (its connections pooled). One per process, shared by all tasks and threads.
    /// Its own class rather than methods of EcpClient: it holds an HttpClient where EcpClient
    /// holds the library's blocking client, and neither needs the other.</summary>
    public sealed class AsyncEcpClient : IDisposable
    {
        private readonly Credentials credentials;
        private readonly string settings;
        private readonly HttpClient http;

        private const string ProbeSession = "0";
        private const string ProbePath = "/call/ecp/queryBySession.action";

        /// <summary>Fixed nonces, clock and jitter (yx_exchange_new's entropy JSON) for a test
        /// that reproduces a scripted conversation; null in production.</summary>
        internal string Entropy;

        /// <summary>Waits between attempts: Task.Delay, or a test's recorder.</summary>
        internal Func<long, CancellationToken, Task> Delay = (ms, token) => Task.Delay(TimeSpan.FromMilliseconds(ms), token);

        /// <summary>A client with its own HttpClientHandler (redirects off, no cookies, no
        /// decompression), or over handler (a test's, a proxy's, a platform's): redirects are
        /// refused all the same, since a 3xx answer is handed to the library as it came, so
        /// handler must not follow them itself. The options are EcpClient's, refused the same way.
        /// credentials must stay undisposed while the client is used: each request's exchange
        /// copies them then.</summary>
        public AsyncEcpClient(Credentials credentials, ClientOptions options, HttpMessageHandler handler = null, bool disposeHandler = true)
        {
            this.credentials = credentials ?? throw new ArgumentNullException(nameof(credentials));
            settings = JsonText.Write(options ?? new ClientOptions());
            // An exchange reads the settings as the blocking client does (the same refusals by the
            // same names, the base URL resolved the same way): one made now refuses them here,
            // and its first attempt, signed but never sent, shows where requests go.
            using (var probe = EcpRequest.Query(ProbeSession, SessionKind.Call))
            using (var exchange = new Exchange(credentials, probe, settings))
            {
                string url = exchange.Send().Request.Url;
                BaseUrl = url.EndsWith(ProbePath, StringComparison.Ordinal) ? url.Substring(0, url.Length - ProbePath.Length) : url;
                exchange.Cancel(false);
            }
            if (handler == null)
            {
                handler = new HttpClientHandler
                {
                    AllowAutoRedirect = false,
                    UseCookies = false,
                    AutomaticDecompression = DecompressionMethods.None,
                };
                disposeHandler = true;
            }
            // The attempts' timeouts are the library's, applied per attempt below.
            http = new HttpClient(handler, disposeHandler) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        }

        /// <summary>Where requests go: ClientOptions.BaseUrl, else YUNXIN_BASE_URL, else
        /// https://api.netease.im.</summary>
        public string BaseUrl { get; }

        /// <summary>Places a call; returns the session. On an exception, read RetryAdvice:
        /// "outcome_unknown" means the call may exist, so query before placing it again.</summary>
        public async Task<string> StartCallAsync(string callerAcc, string caller, string callee, uint maxDur, CancellationToken cancellationToken = default(CancellationToken))
        {
            using (var request = EcpRequest.StartCall(callerAcc, caller, callee, maxDur))
            {
                return await StartAsync(request, cancellationToken).ConfigureAwait(false);
            }
        }

        /// <summary>Places a conference; returns the session.</summary>
        public async Task<string> StartConfAsync(string callerAcc, string caller, IList<string> callees, uint maxDur, CancellationToken cancellationToken = default(CancellationToken))
        {
            using (var request = EcpRequest.StartConf(callerAcc, caller, callees, maxDur))
            {
                return await StartAsync(request, cancellationToken).ConfigureAwait(false);
            }
        }

        /// <summary>Sends a start request; returns the session.</summary>
        public async Task<string> StartAsync(EcpRequest request, CancellationToken cancellationToken = default(CancellationToken))
        {
            using (Exchange exchange = Open(request))
            {
                return await ExchangeDriver.RunAsync(http, exchange, Delay, cancellationToken).ConfigureAwait(false);
            }
        }

        /// <summary>The record of a call (SessionKind.Call) or conference (SessionKind.Conference).</summary>
        public async Task<CallRecord> QueryAsync(string session, int kind, CancellationToken cancellationToken = default(CancellationToken))
        {
            using (var request = EcpRequest.Query(session, kind))
            using (Exchange exchange = Open(request))
            {
                await ExchangeDriver.RunAsync(http, exchange, Delay, cancellationToken).ConfigureAwait(false);
                return exchange.Record();
            }
        }

        /// <summary>Calls any other server API (see EcpRequest.Api); returns the answer's whole JSON
        /// body. A code other than 200 is an ApiException.</summary>
        public async Task<string> RequestAsync(string path, IEnumerable<KeyValuePair<string, string>> parameters, bool idempotent = false, CancellationToken cancellationToken = default(CancellationToken))
        {
            using (var request = EcpRequest.Api(path, parameters, idempotent))
            using (Exchange exchange = Open(request))
            {
                return await ExchangeDriver.RunAsync(http, exchange, Delay, cancellationToken).ConfigureAwait(false);
            }
        }

        /// <summary>As RequestAsync, with the answer read into T, a [DataContract] type of the
        /// caller's (members it does not name are skipped).</summary>
        public async Task<T> RequestAsync<T>(string path, IEnumerable<KeyValuePair<string, string>> parameters, bool idempotent = false, CancellationToken cancellationToken = default(CancellationToken))
            => JsonText.Read<T>(await RequestAsync(path, parameters, idempotent, cancellationToken).ConfigureAwait(false));

        private Exchange Open(EcpRequest request)
        {
            if (request == null)
            {
                throw new ArgumentNullException(nameof(request));
            }
            return new Exchange(credentials, request, settings, Entropy);
        }

        public void Dispose() => http.Dispose();
    }

    /// <summary>Drives an Exchange over an HttpClient: the only HTTP code of the asynchronous
    /// client. No retry, redirect or size rule is written here: the exchange decides them.</summary>
    internal static class ExchangeDriver
    {
        /// <summary>The most a read asks of the answer's stream at once.</summary>
        private const int ChunkBytes = 16 * 1024;

        /// <summary>Runs the exchange to its end: returns its answer, or throws its error (the
        /// blocking client's exception) or, once cancellationToken is cancelled, an
        /// ExchangeCanceledException. delay waits between attempts (Task.Delay in production).</summary>
        internal static async Task<string> RunAsync(HttpClient http, Exchange exchange, Func<long, CancellationToken, Task> delay, CancellationToken cancellationToken)
        {
            // Bounded by the exchange: it ends after its last allowed attempt.
            while (true)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    // Nothing in flight: the exchange knows whether an earlier attempt may have
                    // acted (it would not have asked for another one).
                    throw Cancelled(exchange, false, cancellationToken);
                }
                ExchangeAttempt attempt;
                try
                {
                    attempt = exchange.Send();
                }
                finally
                {
                    exchange.Log();
                }
                ExchangeStep step = await AttemptAsync(http, exchange, attempt, cancellationToken).ConfigureAwait(false);
                if (step.Done)
                {
                    return step.Answer;
                }
                try
                {
                    await delay(step.WaitMs, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    throw Cancelled(exchange, false, cancellationToken);
                }
            }
        }

        /// <summary>One attempt: POSTs it within its limits and feeds back what happened.</summary>
        private static async Task<ExchangeStep> AttemptAsync(HttpClient http, Exchange exchange, ExchangeAttempt attempt, CancellationToken cancellationToken)
        {
            var watch = Stopwatch.StartNew();
            AttemptLimits limits = attempt.Limits;
            using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            using (HttpRequestMessage request = Message(attempt.Request))
            {
                deadline.CancelAfter(TimeSpan.FromMilliseconds(Math.Min(limits.TimeoutMs, (ulong)int.MaxValue)));
                HttpResponseMessage response;
                try
                {
                    response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (!(e is YunxinEcpException))
                {
                    return Failed(exchange, e, !NeverSent(e), deadline, cancellationToken, watch);
                }
                using (response)
                // The deadline also covers the body: an expired one closes the answer's stream.
                using (deadline.Token.Register(response.Dispose))
                {
                    int status = (int)response.StatusCode;
                    // The cap as a buffer size: an answer of 2 GiB is too large whatever the settings say.
                    long cap = (long)Math.Min(limits.MaxResponseBytes, (ulong)(int.MaxValue - 1));
                    if (response.Content != null && response.Content.Headers.ContentLength > cap)
                    {
                        return Step(exchange, () => exchange.TooLarge(status, Ms(watch)));
                    }
                    byte[] body;
                    int length;
                    try
                    {
                        var kept = new MemoryStream();
                        if (response.Content != null)
                        {
                            using (Stream stream = await response.Content.ReadAsStreamAsync().ConfigureAwait(false))
                            {
                                var buffer = new byte[(int)Math.Min(ChunkBytes, cap + 1)];
                                while (true)
                                {
                                    int want = (int)Math.Min(buffer.Length, cap + 1 - kept.Length);
                                    int read = await stream.ReadAsync(buffer, 0, want, deadline.Token).ConfigureAwait(false);
                                    if (read <= 0)
                                    {
                                        break;
                                    }
                                    kept.Write(buffer, 0, read);
                                    if (kept.Length > cap)
                                    {
                                        break;
                                    }
                                }
                            }
                        }
                        body = kept.GetBuffer();
                        length = (int)kept.Length;
                    }
                    catch (Exception e) when (!(e is YunxinEcpException))
                    {
                        // The request was sent: an answer had begun.
                        return Failed(exchange, e, true, deadline, cancellationToken, watch);
                    }
                    if (length > cap)
                    {
                        return Step(exchange, () => exchange.TooLarge(status, Ms(watch)));
                    }
                    string location = Location(response);
                    return Step(exchange, () => exchange.Receive(status, location, body, length, Ms(watch)));
                }
            }
        }

        /// <summary>The attempt's POST: its URL, its UTF-8 form body, its headers as given
        /// (Content-Type on the body), no Expect: 100-continue.</summary>
        private static HttpRequestMessage Message(PreparedRequest prepared)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, prepared.Url)
            {
                Content = new ByteArrayContent(Encoding.UTF8.GetBytes(prepared.Body ?? "")),
            };
            request.Headers.ExpectContinue = false;
            foreach (var header in prepared.Headers)
            {
                if (header.Key.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
                {
                    request.Content.Headers.TryAddWithoutValidation(header.Key, header.Value);
                }
                else
                {
                    request.Headers.TryAddWithoutValidation(header.Key, header.Value);
                }
            }
            return request;
        }

        /// <summary>The Location header as it came (null when absent): only a 3xx's is used, to
        /// name where the refused redirect pointed.</summary>
        private static string Location(HttpResponseMessage response)
        {
            if (response.Headers.TryGetValues("Location", out IEnumerable<string> values))
            {
                foreach (string value in values)
                {
                    return value;
                }
            }
            return null;
        }

        /// <summary>No complete answer: the caller's cancellation (the exchange cancelled), the
        /// attempt's deadline (a timeout), or what the HTTP stack threw.</summary>
        private static ExchangeStep Failed(Exchange exchange, Exception e, bool maybeSent, CancellationTokenSource deadline, CancellationToken cancellationToken, Stopwatch watch)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                throw Cancelled(exchange, maybeSent, cancellationToken);
            }
            int kind;
            string detail;
            if (deadline.IsCancellationRequested || e is OperationCanceledException)
            {
                // The attempt's deadline, or a timeout of the handler's own.
                kind = Exchange.Timeout;
                detail = "no complete answer within the attempt's timeout";
            }
            else
            {
                kind = !maybeSent ? Exchange.Connect : Find<AuthenticationException>(e) != null ? Exchange.Tls : Exchange.Io;
                detail = Detail(e);
            }
            return Step(exchange, () => exchange.Fail(kind, maybeSent, detail, Ms(watch)));
        }

        /// <summary>Whether the failure proves the request never left: the host did not resolve or
        /// the connection was never opened. Anything else may have come after sending.</summary>
        private static bool NeverSent(Exception e)
        {
            if (e is OperationCanceledException)
            {
                return false;
            }
            SocketException socket = Find<SocketException>(e);
            if (socket != null)
            {
                switch (socket.SocketErrorCode)
                {
                    case SocketError.ConnectionRefused:
                    case SocketError.HostNotFound:
                    case SocketError.HostUnreachable:
                    case SocketError.NetworkUnreachable:
                    case SocketError.NetworkDown:
                    case SocketError.TryAgain:
                    case SocketError.NoData:
                    case SocketError.AddressNotAvailable:
                    case SocketError.AddressFamilyNotSupported:
                        return true;
                }
                return false;
            }
            WebException web = Find<WebException>(e);
            return web != null && web.Status == WebExceptionStatus.NameResolutionFailure;
        }

        private static T Find<T>(Exception e) where T : Exception
        {
            // Bounded: an exception's chain of inner exceptions is finite, and a pathological one
            // is cut short.
            for (int depth = 0; e != null && depth < 16; depth++, e = e.InnerException)
            {
                if (e is T found)
                {
                    return found;
                }
            }
            return null;
        }

        /// <summary>What the HTTP stack said: each exception of the chain, by type and message
        /// (no header or body is in them).</summary>
        private static string Detail(Exception e)
        {
            var text = new StringBuilder();
            for (int depth = 0; e != null && depth < 4; depth++, e = e.InnerException)
            {
                text.Append(depth == 0 ? "" : ": ").Append(e.GetType().Name).Append(" (").Append(e.Message).Append(')');
            }
            return text.ToString();
        }

        /// <summary>A step of the exchange, its events logged whatever it returns or throws.</summary>
        private static ExchangeStep Step(Exchange exchange, Func<ExchangeStep> step)
        {
            try
            {
                return step();
            }
            finally
            {
                exchange.Log();
            }
        }

        private static ExchangeCanceledException Cancelled(Exchange exchange, bool maybeSent, CancellationToken cancellationToken)
        {
            string advice;
            try
            {
                advice = exchange.Cancel(maybeSent);
            }
            finally
            {
                exchange.Log();
            }
            return new ExchangeCanceledException(advice, maybeSent, cancellationToken);
        }

        private static ulong Ms(Stopwatch watch) => (ulong)Math.Max(0, watch.ElapsedMilliseconds);
    }
}
