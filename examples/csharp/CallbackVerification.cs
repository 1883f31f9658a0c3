// Verifying YunXin's call-end callback in C#, and what is wrong with the documentation's getMD5.
//
// The docs' CheckSumBuilder.getMD5 computes the MD5 digest, formats it as hex, then hex-encodes
// that hex string's bytes a second time (getFormattedText(Encoding.Default.GetBytes(...))): 64
// characters that never match the MD5 header YunXin sends. It also hashes
// Encoding.Default.GetBytes(requestBody), a re-encoded string instead of the raw bytes received.
// The right MD5 is lowercase hex of MD5(raw body bytes), hex-encoded once: 32 characters.
//
// In a web handler, read the raw body bytes with CallbackVerifier.ReadBody(Request.InputStream,
// contentLength, maxBodyBytes) (at most 1 MiB by default; a larger body is a
// BodyTooLargeException whose AnswerStatus is 413, read no further; HttpListener users can call
// VerifyAndParse(HttpListenerRequest) directly) and pass them with the request headers to CallbackVerifier.VerifyAndParse, which checks MD5,
// CheckSum (SHA1(AppSecret + MD5 + CurTime), CurTime in milliseconds) and CurTime's age, in
// constant time. The headers go in as the server gives them: HttpListenerRequest.Headers or
// classic ASP.NET's Request.Headers (a NameValueCollection), HttpRequestMessage.Headers, ASP.NET
// Core's Request.Headers (IHeaderDictionary), or pairs; every value of a header sent twice is
// passed on its own, so the callback is refused (duplicate_header) instead of the values being
// joined. Here the in-process mock places a call and POSTs the callback to its own inbox.
using System;
using System.Collections.Generic;
using System.Collections.Specialized;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using YunxinEcp;

internal static class CallbackVerificationExample
{
    // What the documentation's sample does (do not use): 64 characters.
    private static string DocsGetMd5(string requestBody)
    {
        byte[] data = MD5.Create().ComputeHash(Encoding.Default.GetBytes(requestBody));
        var hex = new StringBuilder();
        foreach (byte b in data)
        {
            hex.Append(b.ToString("x2"));
        }
        return Hex(Encoding.Default.GetBytes(hex.ToString()));
    }

    // The right way: MD5 of the raw bytes, lowercase hex, once. (Ecp.BodyMd5 does the same.)
    private static string BodyMd5(byte[] rawBody)
    {
        using (var md5 = MD5.Create())
        {
            return Hex(md5.ComputeHash(rawBody));
        }
    }

    private static string Hex(byte[] bytes)
    {
        var sb = new StringBuilder(bytes.Length * 2);
        foreach (byte b in bytes)
        {
            sb.Append(b.ToString("x2"));
        }
        return sb.ToString();
    }

    // The handler: 200 for a genuine callback, 401 otherwise. The headers as HttpListenerRequest.Headers
    // gives them (a NameValueCollection).
    private static int HandleCallback(CallbackVerifier verifier, byte[] rawBody, NameValueCollection headers)
    {
        try
        {
            CallbackEvent evt = verifier.VerifyAndParse(rawBody, headers);
            if (evt.IsCallEnd)
            {
                // Store the record keyed on its session: deliveries can repeat.
                Console.WriteLine("call " + evt.Record.Session + " ended: answered " + evt.Record.Answered
                    + ", " + evt.Record.DurationSec + " s, " + evt.Record.CostFen + " fen");
            }
            return 200;
        }
        catch (CallbackException e)
        {
            Console.WriteLine("refused (" + e.Reason + "): " + e.Message);
            return 401;
        }
    }

    // The headers as a server's NameValueCollection holds them (names ignore case).
    private static NameValueCollection Collection(IEnumerable<KeyValuePair<string, string>> headers)
    {
        var collection = new NameValueCollection();
        foreach (var header in headers)
        {
            collection.Add(header.Key, header.Value);
        }
        return collection;
    }

    private static int Main()
    {
        using (MockServer mock = MockServer.Start())
        using (var credentials = new Credentials(MockServer.SampleAppKey, MockServer.SampleAppSecret))
        using (var verifier = new CallbackVerifier(credentials))
        using (var client = new EcpClient(credentials, new ClientOptions { BaseUrl = mock.BaseUrl }))
        {
            mock.SetCallbackUrl(mock.InboxUrl);
            client.StartCall("liuxuanlin", "13888888888", "13777777777", 100);
            if (mock.WaitForInbox(1, 10000) < 1)
            {
                Console.Error.WriteLine("no callback arrived");
                return 1;
            }
            ReceivedCallback post = mock.Inbox(0);
            string sent = post.Headers.First(h => h.Key.Equals("MD5", StringComparison.OrdinalIgnoreCase)).Value;
            string right = BodyMd5(post.Body);
            string docs = DocsGetMd5(Encoding.UTF8.GetString(post.Body));
            Console.WriteLine("MD5 header " + sent + "; right: " + (right == sent) + "; docs' getMD5 (" + docs.Length + " chars): " + (docs == sent));

            int genuine = HandleCallback(verifier, post.Body, Collection(post.Headers));
            var forged = post.Headers.Select(h => h.Key.Equals("MD5", StringComparison.OrdinalIgnoreCase)
                ? new KeyValuePair<string, string>(h.Key, docs) : h);
            int withDocsMd5 = HandleCallback(verifier, post.Body, Collection(forged));
            // A second CheckSum header: refused, whichever copy is right.
            NameValueCollection twice = Collection(post.Headers);
            twice.Add("CheckSum", twice["CheckSum"]);
            int withTwoCheckSums = HandleCallback(verifier, post.Body, twice);
            Console.WriteLine("genuine callback: HTTP " + genuine + "; with the docs' MD5: HTTP " + withDocsMd5
                + "; with CheckSum sent twice: HTTP " + withTwoCheckSums);
            return genuine == 200 && withDocsMd5 == 401 && withTwoCheckSums == 401 && right == sent && docs != sent ? 0 : 1;
        }
    }
}
