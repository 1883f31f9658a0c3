// The members of ASP.NET Core that examples/csharp/AspNetCoreCallback.cs uses, with the
// signatures of Microsoft.AspNetCore.Http and Microsoft.AspNetCore.Builder (.NET 6+), so that
// Mono can compile the example and catch it drifting from the wrapper's API. Nothing runs: the
// bodies only satisfy the compiler. (In ASP.NET Core, MapPost and WriteAsync are extension
// methods; called the same way.)
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace Microsoft.Extensions.Primitives
{
    public readonly struct StringValues : IEnumerable<string>
    {
        public IEnumerator<string> GetEnumerator() { yield break; }
        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}

namespace Microsoft.AspNetCore.Http
{
    using Microsoft.Extensions.Primitives;

    public delegate Task RequestDelegate(HttpContext context);

    public interface IHeaderDictionary : IDictionary<string, StringValues>
    {
    }

    public abstract class HttpRequest
    {
        public abstract Stream Body { get; set; }
        public abstract long? ContentLength { get; set; }
        public abstract IHeaderDictionary Headers { get; }
    }

    public abstract class HttpResponse
    {
        public abstract int StatusCode { get; set; }
        public abstract string ContentType { get; set; }
        public Task WriteAsync(string text, CancellationToken cancellationToken = default(CancellationToken)) => Task.CompletedTask;
    }

    public abstract class HttpContext
    {
        public abstract HttpRequest Request { get; }
        public abstract HttpResponse Response { get; }
        public abstract CancellationToken RequestAborted { get; set; }
    }
}

namespace Microsoft.AspNetCore.Builder
{
    using Microsoft.AspNetCore.Http;

    public sealed class WebApplication
    {
        public object MapPost(string pattern, RequestDelegate handler) => null;
    }
}
