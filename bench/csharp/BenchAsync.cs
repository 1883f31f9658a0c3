// AsyncEcpClient (the library's exchange driven over HttpClient) against a hand-rolled loop on
// the same kind of HttpClient that signs with .NET's SHA1 (the documentation's CheckSumBuilder)
// and reads the answer's code, both sending StartCall then Query (queryBySession) to the same
// in-process mock, one request at a time. Rounds alternate between the two; prints each side's
// median requests per second and the ratio.
//
// Run, from the repository (after cargo build --release -p yunxin-ecp-ffi):
//
//     mcs -langversion:7.2 -optimize -r:System.Runtime.Serialization.dll -r:System.Xml.dll -r:System.Net.Http.dll \
//         -out:/tmp/BenchAsync.exe csharp/YunxinEcp.cs csharp/YunxinEcpAsync.cs bench/csharp/BenchAsync.cs
//     LD_LIBRARY_PATH=target/release mono /tmp/BenchAsync.exe [ROUNDS] [PAIRS]
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Net.Http;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using YunxinEcp;

internal static class BenchAsync
{
    private static async Task<double> Library(AsyncEcpClient client, int pairs)
    {
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < pairs; i++)
        {
            string session = await client.StartCallAsync("liuxuanlin", "13888888888", "13777777777", 100, CancellationToken.None).ConfigureAwait(false);
            CallRecord record = await client.QueryAsync(session, SessionKind.Call, CancellationToken.None).ConfigureAwait(false);
            if (record.Session != session)
            {
                throw new Exception("wrong record");
            }
        }
        return 2 * pairs / watch.Elapsed.TotalSeconds;
    }

    private static string Sha1Hex(SHA1 sha, string text)
    {
        byte[] digest = sha.ComputeHash(Encoding.UTF8.GetBytes(text));
        var sb = new StringBuilder(40);
        foreach (byte b in digest)
        {
            sb.Append(b.ToString("x2", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    /// <summary>What an app without the library writes: a nonce, CurTime, SHA1 CheckSum, a
    /// form POST, the JSON's code read by hand (here: by string search, as many do).</summary>
    private static async Task<string> HandRolled(HttpClient http, SHA1 sha, string url, string form)
    {
        string nonce = Guid.NewGuid().ToString("N");
        string curTime = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        using (var request = new HttpRequestMessage(HttpMethod.Post, url))
        {
            request.Content = new StringContent(form, Encoding.UTF8, "application/x-www-form-urlencoded");
            request.Headers.ExpectContinue = false;
            request.Headers.Add("AppKey", MockServer.SampleAppKey);
            request.Headers.Add("Nonce", nonce);
            request.Headers.Add("CurTime", curTime);
            request.Headers.Add("CheckSum", Sha1Hex(sha, MockServer.SampleAppSecret + nonce + curTime));
            using (HttpResponseMessage response = await http.SendAsync(request).ConfigureAwait(false))
            {
                string body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
                if (!body.Contains("\"code\":200"))
                {
                    throw new Exception("not a success: " + body);
                }
                return body;
            }
        }
    }

    private static async Task<double> Hand(HttpClient http, string baseUrl, int pairs)
    {
        using (SHA1 sha = SHA1.Create())
        {
            var watch = Stopwatch.StartNew();
            for (int i = 0; i < pairs; i++)
            {
                string started = await HandRolled(http, sha, baseUrl + "/call/ecp/startcall.action",
                    "callerAcc=liuxuanlin&caller=13888888888&callee=13777777777&maxDur=100").ConfigureAwait(false);
                int at = started.IndexOf("\"session\":\"", StringComparison.Ordinal) + 11;
                string session = started.Substring(at, started.IndexOf('"', at) - at);
                await HandRolled(http, sha, baseUrl + "/call/ecp/queryBySession.action", "session=" + session + "&type=1").ConfigureAwait(false);
            }
            return 2 * pairs / watch.Elapsed.TotalSeconds;
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.OrderBy(v => v).ToList();
        int n = sorted.Count;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private static int Main(string[] args)
    {
        int rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 7;
        int pairs = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 500;
        using (MockServer mock = MockServer.Start())
        using (var creds = new Credentials(MockServer.SampleAppKey, MockServer.SampleAppSecret))
        using (var client = new AsyncEcpClient(creds, new ClientOptions { BaseUrl = mock.BaseUrl }))
        using (var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }))
        {
            // Warm both: the JIT, the connection pools.
            Library(client, 50).GetAwaiter().GetResult();
            Hand(http, mock.BaseUrl, 50).GetAwaiter().GetResult();
            var library = new List<double>();
            var hand = new List<double>();
            for (int r = 0; r < rounds; r++)
            {
                mock.Reset();
                if (r % 2 == 0)
                {
                    library.Add(Library(client, pairs).GetAwaiter().GetResult());
                    hand.Add(Hand(http, mock.BaseUrl, pairs).GetAwaiter().GetResult());
                }
                else
                {
                    hand.Add(Hand(http, mock.BaseUrl, pairs).GetAwaiter().GetResult());
                    library.Add(Library(client, pairs).GetAwaiter().GetResult());
                }
                Console.WriteLine("round " + (r + 1) + ": AsyncEcpClient " + library[r].ToString("F0", CultureInfo.InvariantCulture)
                    + " req/s, hand-rolled " + hand[r].ToString("F0", CultureInfo.InvariantCulture) + " req/s");
            }
            double l = Median(library), h = Median(hand);
            Console.WriteLine("median of " + rounds + " rounds of " + (2 * pairs) + " requests (StartCall + Query, sequential): AsyncEcpClient "
                + l.ToString("F0", CultureInfo.InvariantCulture) + " req/s, hand-rolled HttpClient + SHA1 "
                + h.ToString("F0", CultureInfo.InvariantCulture) + " req/s, ratio " + (l / h).ToString("F2", CultureInfo.InvariantCulture));
        }
        return 0;
    }
}
