using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Autonomic.Integration.Tests.Tasks;

/// <summary>
/// A real HTTP server (Kestrel on a free loopback port) that <c>object.upload</c> fetches from: <c>/blob</c> serves
/// <see cref="Blob"/>, <c>/flaky</c> answers 503 <see cref="FlakyFailures"/> times and then the blob, <c>/gone</c> is 404.
/// Every request's time is recorded.
/// </summary>
internal sealed class SourceServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _flakyCalls;

    private SourceServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public byte[] Blob { get; } = [.. Enumerable.Range(0, 300_000).Select(i => (byte)(i * 31 % 251))];
    public int FlakyFailures { get; set; } = 2;
    public ConcurrentQueue<(string Path, DateTimeOffset At)> Requests { get; } = new();
    public Uri Address { get; }

    public static async Task<SourceServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        SourceServer? self = null;
        app.Use(async (ctx, next) =>
        {
            self!.Requests.Enqueue((ctx.Request.Path, TimeProvider.System.GetUtcNow()));
            await next(ctx);
        });
        app.MapGet("/blob", () => Results.Bytes(self!.Blob, "application/x-test"));
        app.MapGet("/flaky", () => Interlocked.Increment(ref self!._flakyCalls) <= self.FlakyFailures
            ? Results.StatusCode(StatusCodes.Status503ServiceUnavailable)
            : Results.Bytes(self.Blob, "application/x-test"));
        app.MapGet("/gone", () => Results.NotFound());
        await app.StartAsync();
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        self = new SourceServer(app, new Uri(bound));
        return self;
    }

    public string Url(string path) => new Uri(Address, path).AbsoluteUri;

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
