using System.Collections.Concurrent;
using Autonomic.Agents.Security;
using Autonomic.Backends.Bus;
using Autonomic.Backends.Store;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Security;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Autonomic.Integration.Tests.Security;

/// <summary>Where the repository and its tests/data are.</summary>
internal static class SecurityData
{
    private static readonly Lazy<string> Root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "Autonomic.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("no Autonomic.sln above the test output");
    });

    public static string Dir => Path.Combine(Root.Value, "tests", "data");

    public static string File(params string[] parts) => Path.Combine([Dir, .. parts]);

    public static bool Fail2banInstalled => System.IO.File.Exists("/usr/bin/fail2ban-regex");
}

/// <summary>HTTP clients whose connections come from a chosen loopback address (127.0.0.0/8 all reach 127.0.0.1's listeners).</summary>
internal static class LoopbackClient
{
    public static HttpClient From(System.Net.IPAddress local, Uri baseAddress, string? key = null)
    {
        var client = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            ConnectCallback = async (ctx, ct) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
                socket.Bind(new System.Net.IPEndPoint(local, 0));
                await socket.ConnectAsync(ctx.DnsEndPoint, ct);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
        })
        { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(10) };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        }

        return client;
    }
}

/// <summary>A responder over a real SQLite state store, a real in-memory bus and the in-memory document store.</summary>
internal sealed class ResponderRig : IAsyncDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("autonomic-sec-").FullName;

    private ResponderRig(SecurityOptions options, FakeTimeProvider time, SqliteStateStore state)
    {
        Time = time;
        State = state;
        Bus = new InMemoryBus(time);
        Enforcement = new SecurityEnforcement(new Blocklist(time), new ClientRateLimits(time), new QuarantineList(time));
        Options = options;
        Responder = new SecurityResponder(Docs, State, Bus, Enforcement, options, time, NullLogger<SecurityResponder>.Instance);
    }

    public FakeTimeProvider Time { get; }
    public Autonomic.Backends.Store.InMemoryDocumentStore Docs { get; } = new();
    public SqliteStateStore State { get; }
    public InMemoryBus Bus { get; }
    public SecurityEnforcement Enforcement { get; }
    public Blocklist Blocklist => Enforcement.Blocks;
    public SecurityOptions Options { get; }
    public SecurityResponder Responder { get; }

    public static async Task<ResponderRig> CreateAsync(SecurityOptions options)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var dir = Directory.CreateTempSubdirectory("autonomic-sec-db-").FullName;
        var state = new SqliteStateStore($"sqlite:{Path.Combine(dir, "state.db")}");
        await state.MigrateAsync();
        return new ResponderRig(options, time, state);
    }

    public static SecurityAlert Alert(string ip, string response = "block", string? key = null) => new()
    {
        Id = Guid.NewGuid().ToString("N"),
        Time = DateTimeOffset.UnixEpoch,
        Rule = "sshd-bruteforce",
        Class = "brute_force",
        Severity = Severity.High,
        SourceIp = ip,
        KeyId = key,
        Response = response,
        Reason = "5 auth_failure events within 600 s",
        Evidence = [$"Dec 10 06:55:46 LabSZ sshd[24200]: Failed password for root from {ip} port 1 ssh2"],
    };

    public async ValueTask DisposeAsync()
    {
        await Bus.DisposeAsync();
        await State.DisposeAsync();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
