// The fault table's C# side: every fault the mock can inject, against YunxinEcp.EcpClient
// (P/Invoke on libyunxin_ecp through csharp/YunxinEcp.cs), for a start call and for a query.
// Prints one tab-separated ROW per case and DONE at the end, for scripts/fault-table.py. The
// outcome words are the same in every language (see tests/faults/faults.py). The last row says
// whether every call the mock placed had its call-end callback received by the mock's inbox and
// verified. Built by tests/faults/build-csharp.sh; needs libyunxin_ecp.so on LD_LIBRARY_PATH.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Threading;
using YunxinEcp;

public static class Faults
{
    // The same faults, in the same order, as every other language's program.
    private static readonly Tuple<string, ulong, uint>[] Table =
    {
        Tuple.Create("delay", 1500UL, 0U),
        Tuple.Create("reset_before_response", 0UL, 0U),
        Tuple.Create("reset_mid_body", 0UL, 0U),
        Tuple.Create("html_502", 0UL, 0U),
        Tuple.Create("empty_body", 0UL, 0U),
        Tuple.Create("garbage_json", 0UL, 0U),
        Tuple.Create("oversized", 0UL, 4U * 1024 * 1024),
        Tuple.Create("rate_limited", 0UL, 0U),
        Tuple.Create("server_error", 0UL, 0U),
        Tuple.Create("busy_503", 0UL, 0U),
        Tuple.Create("redirect", 0UL, 0U),
    };

    private static string Describe(YunxinEcpException error)
    {
        if (error == null)
        {
            return "ok";
        }
        if (error is ApiException)
        {
            return "api " + error.ApiCode + " [" + error.RetryAdvice + "]";
        }
        if (error is ProtocolException)
        {
            return "protocol " + error.Reason + " [" + error.RetryAdvice + "]";
        }
        if (error is TransportException)
        {
            return "transport " + error.Reason + " sent=" + (error.MaybeSent ? "true" : "false")
                + " [" + error.RetryAdvice + "]";
        }
        return error.Kind + " [" + error.RetryAdvice + "]";
    }

    // Waits for the callback of every call the mock placed and verifies each.
    private static string CallbacksOutcome(MockServer mock, CallbackVerifier verifier)
    {
        int placed = (int)mock.SessionCount;
        int received = mock.WaitForInbox(placed, 10000);
        var verified = new HashSet<string>(StringComparer.Ordinal);
        int refused = 0;
        for (int i = 0; i < received; i++)
        {
            ReceivedCallback post = mock.Inbox(i);
            try
            {
                CallbackEvent e = verifier.VerifyAndParse(post.Body, post.Headers);
                if (e.IsCallEnd && e.Record.Session != null)
                {
                    verified.Add(e.Record.Session);
                }
                else
                {
                    refused++;
                }
            }
            catch (CallbackException)
            {
                refused++;
            }
        }
        int lost = Math.Max(0, placed - verified.Count);
        return lost == 0 && refused == 0
            ? "all " + placed + " verified"
            : lost + " lost, " + refused + " refused of " + placed;
    }

    // The first callback received, delivered twice to a handler behind the duplicate guard, as a
    // sender that got no answer in time delivers it again: "handled 1 of 2 deliveries".
    private static string DuplicateOutcome(MockServer mock, CallbackVerifier verifier)
    {
        if (mock.WaitForInbox(1, 10000) < 1)
        {
            return "no callback received";
        }
        ReceivedCallback post = mock.Inbox(0);
        int handled = 0;
        using (var guard = new DeliveryGuard())
        {
            for (int delivered = 0; delivered < 2; delivered++)
            {
                Delivery delivery;
                try
                {
                    delivery = verifier.Verify(post.Body, post.Headers);
                }
                catch (CallbackException)
                {
                    return "refused";
                }
                if (guard.Claim(delivery) == DeliveryClaim.First)
                {
                    handled++; // the handler
                    guard.Complete(delivery);
                }
            }
        }
        return "handled " + handled + " of 2 deliveries";
    }

    public static int Main()
    {
        using (var mock = MockServer.Start())
        using (var credentials = new Credentials(MockServer.SampleAppKey, MockServer.SampleAppSecret))
        using (var verifier = new CallbackVerifier(credentials))
        using (var client = new EcpClient(credentials, new ClientOptions
        {
            BaseUrl = mock.BaseUrl,
            TimeoutMs = 1000,
            ConnectTimeoutMs = 1000,
            BackoffMs = 50,
        }))
        using (var call = EcpRequest.StartCall("liuxuanlin", "13888888888", "13777777777", 100))
        {
            mock.SetCallbackUrl(mock.InboxUrl);
            string session = client.Start(call);
            foreach (var fault in Table)
            {
                foreach (var operation in new[] { "start_call", "query" })
                {
                    mock.ClearFaults();
                    mock.InjectFault(fault.Item1, 1, fault.Item2, fault.Item3);
                    var watch = Stopwatch.StartNew();
                    YunxinEcpException error = null;
                    try
                    {
                        if (operation == "start_call")
                        {
                            client.Start(call);
                        }
                        else
                        {
                            client.Query(session, SessionKind.Call);
                        }
                    }
                    catch (YunxinEcpException e)
                    {
                        error = e;
                    }
                    double took = watch.Elapsed.TotalMilliseconds;
                    string ms = Math.Round(took).ToString("0", CultureInfo.InvariantCulture);
                    Console.Out.Write("ROW\t" + fault.Item1 + "\t" + operation + "\t"
                        + Describe(error) + "\t" + ms + "\n");
                    Console.Out.Flush();
                    if (fault.Item1 == "delay")
                    {
                        // Let the delayed request finish.
                        Thread.Sleep(TimeSpan.FromMilliseconds(Math.Max(0, 1600 - took)));
                    }
                }
            }
            // Where the redirect fault pointed: nothing may have reached it, signed headers and all.
            var hits = (long)System.Json.JsonValue.Parse(mock.StatsJson())["redirect_target_hits"];
            Console.Out.Write("ROW\tredirect\tlocation_host\t" + hits + " requests\t0\n");
            var callbacks = Stopwatch.StartNew();
            string outcome = CallbacksOutcome(mock, verifier);
            string waited = Math.Round(callbacks.Elapsed.TotalMilliseconds).ToString("0", CultureInfo.InvariantCulture);
            Console.Out.Write("ROW\tcallbacks\tdelivered\t" + outcome + "\t" + waited + "\n");
            var timer = System.Diagnostics.Stopwatch.StartNew();
            string duplicate = DuplicateOutcome(mock, verifier);
            Console.Out.Write("ROW\tduplicate_delivery\thandler\t" + duplicate + "\t" + timer.ElapsedMilliseconds + "\n");
        }
        Console.Out.Write("DONE\n");
        Console.Out.Flush();
        return 0;
    }
}
