// A call-end callback endpoint in ASP.NET Core (minimal API, .NET 6 or later), handling each
// delivery once. Not built here (ASP.NET Core does not run on Mono): tests/csharp/run.sh compiles
// it against tests/csharp/AspNetCoreStubs.cs, the few ASP.NET Core types it names, so that it
// stays in step with the wrapper's API. In an ASP.NET Core project, with csharp/YunxinEcp.cs
// compiled in and libyunxin_ecp.so beside the app:
//
//     var app = WebApplication.CreateBuilder(args).Build();
//     AspNetCoreCallback.Map(app, new CallbackVerifier(new[] { oldCredentials, newCredentials }),
//         new DeliveryGuard());   // several instances: new DeliveryGuard(yourRedisStore)
//     app.Run();
//
// The body is read asynchronously (Kestrel refuses synchronous reads) and at most 1 MiB of it;
// the answer is the library's: 200 once handled, 200 {"result":"duplicate"} for a repeat, 409
// while another request handles the same delivery, 503 when the guard's store fails, 403, 400 or
// 413 for a refused callback. A handler that throws releases the delivery (the sender's next
// attempt is handled) and ASP.NET Core answers 500.
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using YunxinEcp;

public static class AspNetCoreCallback
{
    public static void Map(WebApplication app, CallbackVerifier verifier, DeliveryGuard guard)
    {
        app.MapPost("/ecp/callback", async (HttpContext http) =>
        {
            CallbackAnswer answer;
            try
            {
                byte[] body = await CallbackVerifier.ReadBodyAsync(http.Request.Body, http.Request.ContentLength, null, http.RequestAborted);
                answer = verifier.Handle(body, http.Request.Headers, (evt, delivery) =>
                {
                    if (evt.IsCallEnd)
                    {
                        Book(evt.Record, delivery.AppKey);   // your code: runs once per delivery
                    }
                }, guard);
            }
            catch (BodyTooLargeException e)
            {
                answer = e.Answer;
            }
            http.Response.StatusCode = answer.Status;
            if (answer.Body.Length > 0)
            {
                http.Response.ContentType = "application/json";
                await http.Response.WriteAsync(answer.Body);
            }
        });
    }

    private static void Book(CallRecord record, string appKey)
    {
        System.Console.WriteLine(appKey + " " + record.Session + ": " + record.BilledMinutes + " min");
    }
}
