// The documentation's C# samples (start call, start conference), rewritten on libyunxin_ecp.
//
// What the samples do wrong, and what happens here instead:
// - a fixed nonce ("12345") on every request: the library draws a fresh one per attempt;
// - Encoding.Default for the CheckSum input (not UTF-8 on every machine): the library hashes
//   UTF-8, always;
// - every parameter in the query string, the conference callees single-quoted
//   (['13888888888','13666666666'], not JSON), an empty body and a header named "ContentType":
//   here a form body with a real JSON array and the right Content-Type;
// - exceptions swallowed and the answer never read: here every failure is an exception with
//   the service's code and the retry advice, and a billable start that may have reached the
//   service is never resent automatically.
//
//   mono StartCall.exe              runs against an in-process mock of the ECP API
//   mono StartCall.exe BASE_URL     runs against BASE_URL (e.g. https://api.netease.im) with
//                                   YUNXIN_APP_KEY and YUNXIN_APP_SECRET from the environment
using System;
using YunxinEcp;

internal static class StartCallExample
{
    private static int Main(string[] args)
    {
        MockServer mock = null;
        try
        {
            Credentials credentials;
            string baseUrl;
            if (args.Length > 0)
            {
                baseUrl = args[0];
                credentials = Credentials.FromEnvironment();
            }
            else
            {
                mock = MockServer.Start();
                baseUrl = mock.BaseUrl;
                // The samples' own app key and secret, which the mock accepts.
                credentials = new Credentials(MockServer.SampleAppKey, MockServer.SampleAppSecret);
            }
            using (credentials)
            using (var client = new EcpClient(credentials, new ClientOptions { BaseUrl = baseUrl, ConnectTimeoutMs = 5000, TimeoutMs = 15000 }))
            {
                // The samples' call: liuxuanlin rings 13888888888, then 13666666666, for 100 s at most.
                string call = client.StartCall("liuxuanlin", "13888888888", "13666666666", 100);
                Console.WriteLine("startcall: session " + call);

                // The samples' conference: 13777777777 with two others.
                string conf = client.StartConf("liuxuanlin", "13777777777", new[] { "13888888888", "13666666666" }, 100);
                Console.WriteLine("startconf: session " + conf);

                CallRecord record = client.Query(conf, SessionKind.Conference);
                Console.WriteLine("members " + string.Join(",", record.Members) + "; answered: " + record.Answered
                    + "; billed " + record.BilledMinutes + " min (" + record.CostFen + " fen)");
            }
            return 0;
        }
        catch (ApiException e)
        {
            Console.Error.WriteLine("the service said " + e.ApiCode + ": " + e.Message + " (retry: " + e.RetryAdvice + ")");
            return 1;
        }
        catch (YunxinEcpException e)
        {
            Console.Error.WriteLine(e.Kind + " error: " + e.Message);
            if (e.RetryAdvice == "outcome_unknown")
            {
                Console.Error.WriteLine("the call may have been placed: query it before trying again");
            }
            return 1;
        }
        finally
        {
            if (mock != null)
            {
                mock.Dispose();
            }
        }
    }
}
