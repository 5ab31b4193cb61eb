using Autonomic.Backends.Functions;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Autonomic.Backends.Bus;
using Autonomic.Backends.Store;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Specs;
using Autonomic.Gateway;
using Autonomic.Gateway.Auth;
using CsCheck;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Autonomic.Integration.Tests.Gateway;

/// <summary>
/// Requests generated from the served OpenAPI document (valid, boundary and malformed path parameters, query strings,
/// JSON bodies and headers), sent to a real Kestrel gateway and to the same pipeline in memory (TestServer): no answer
/// may be a 5xx, and each must be a documented status of its operation or a problem document.
/// </summary>
public sealed class OpenApiFuzzTests
{
    private const int Iterations = 500;

    /// <summary>One operation of the document.</summary>
    internal sealed record Operation(string Method, string Template, string Id, IReadOnlyList<string> PathParams, IReadOnlyList<string> QueryParams, JsonElement? BodySchema, IReadOnlySet<int> Statuses);

    internal sealed record FuzzRequest(Operation Op, string Path, byte[]? Body, string? ContentType, string Auth, (string Name, string Value)? Header)
    {
        public override string ToString() =>
            $"{Op.Method} {Path} auth={Auth} type={ContentType} header={Header?.Name} body={(Body is null ? "-" : Encoding.UTF8.GetString(Body[..Math.Min(Body.Length, 300)]))}";
    }

    [Fact]
    public async Task Kestrel_gateway_answers_every_generated_request_without_a_5xx()
    {
        await using var gw = new FuzzTarget(inMemory: false);
        await gw.StartAsync();
        await FuzzAsync(gw);
    }

    [Fact]
    public async Task In_memory_gateway_answers_every_generated_request_without_a_5xx()
    {
        await using var gw = new FuzzTarget(inMemory: true);
        await gw.StartAsync();
        await FuzzAsync(gw);
    }

    private static async Task FuzzAsync(FuzzTarget gw)
    {
        using var anonymous = gw.Client(null);
        var document = await anonymous.GetStringAsync("/openapi/v1.json");
        var operations = Parse(document);
        Assert.Contains(operations, o => o.Id == "createService");
        Assert.Contains(operations, o => o.Id == "scaleService");
        Assert.Contains(operations, o => o.Id == "getStatus");

        var keys = new Dictionary<string, string?>
        {
            ["admin"] = gw.AdminKey,
            ["viewer"] = await gw.CreateKeyAsync(ApiRoles.Viewer),
            ["none"] = null,
            ["garbage"] = "ak_zzzz_" + new string('q', 40),
        };
        var clients = keys.ToDictionary(k => k.Key, k => gw.Client(k.Value));
        try
        {
            await Requests(operations).Where(r => !(gw.InMemory && r.Path.Contains("%00", StringComparison.Ordinal))).SampleAsync(async request =>
            {
                // (TestServer refuses a NUL in the path on the client side; Kestrel answers it with a 400.)
                using var message = new HttpRequestMessage(new HttpMethod(request.Op.Method), request.Path);
                if (request.Body is not null)
                {
                    message.Content = new ByteArrayContent(request.Body);
                    if (request.ContentType is not null)
                    {
                        message.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(request.ContentType);
                    }
                }

                if (request.Header is { } header)
                {
                    message.Headers.TryAddWithoutValidation(header.Name, header.Value);
                }

                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
                using var response = await clients[request.Auth].SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cts.Token);
                var status = (int)response.StatusCode;
                var type = response.Content.Headers.ContentType?.MediaType;
                // The event stream never ends by itself: its headers are the answer.
                var body = type == "text/event-stream" ? "" : await response.Content.ReadAsStringAsync(cts.Token);
                Assert.True(status < 500, $"{status} for {request}: {body}");
                // Kestrel itself refuses malformed requests (a NUL in the path, oversized headers) before any middleware
                // runs: an empty answer without the pipeline's X-Request-Id.
                if (status is 400 or 414 or 431 && body.Length == 0 && !response.Headers.Contains("X-Request-Id"))
                {
                    return;
                }

                if (!request.Op.Statuses.Contains(status))
                {
                    Assert.True(type == "application/problem+json", $"undocumented {status} ({type}) for {request}: {body}");
                    using var problem = JsonDocument.Parse(body);
                    Assert.Equal(status, problem.RootElement.GetProperty("status").GetInt32());
                }
                else if (type == "application/problem+json")
                {
                    using var problem = JsonDocument.Parse(body);
                    Assert.Equal(status, problem.RootElement.GetProperty("status").GetInt32());
                }
            }, iter: Iterations, threads: 1, print: r => r.ToString());
        }
        finally
        {
            foreach (var c in clients.Values)
            {
                c.Dispose();
            }
        }
    }

    internal static List<Operation> Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var schemas = doc.RootElement.GetProperty("components").TryGetProperty("schemas", out var s) ? s.Clone() : default;
        var list = new List<Operation>();
        foreach (var path in doc.RootElement.GetProperty("paths").EnumerateObject())
        {
            foreach (var op in path.Value.EnumerateObject())
            {
                if (op.Name is not ("get" or "post" or "put" or "patch" or "delete"))
                {
                    continue;
                }

                var parameters = op.Value.TryGetProperty("parameters", out var p) ? p.EnumerateArray().ToList() : [];
                JsonElement? body = null;
                if (op.Value.TryGetProperty("requestBody", out var rb) && rb.GetProperty("content").TryGetProperty("application/json", out var media) && media.TryGetProperty("schema", out var schema))
                {
                    body = Resolve(schema, schemas).Clone();
                }

                list.Add(new Operation(
                    op.Name.ToUpperInvariant(),
                    path.Name,
                    op.Value.TryGetProperty("operationId", out var id) ? id.GetString()! : path.Name,
                    parameters.Where(x => x.GetProperty("in").GetString() == "path").Select(x => x.GetProperty("name").GetString()!).ToList(),
                    parameters.Where(x => x.GetProperty("in").GetString() == "query").Select(x => x.GetProperty("name").GetString()!).ToList(),
                    body,
                    op.Value.GetProperty("responses").EnumerateObject().Select(r => int.Parse(r.Name, System.Globalization.CultureInfo.InvariantCulture)).ToHashSet()));
            }
        }

        return list;
    }

    private static JsonElement Resolve(JsonElement schema, JsonElement schemas) =>
        schema.TryGetProperty("$ref", out var r) && schemas.ValueKind == JsonValueKind.Object
            ? schemas.GetProperty(r.GetString()!.Split('/')[^1])
            : schema;

    private static readonly string[] PathValues =
        ["web", "nope", "a", "inc-1", "0", "-1", new string('a', 63), new string('b', 64), new string('c', 300), "..", "%2e%2e%2fsecret", "a%00b", "%F0%9F%98%80", "UPPER", "-x", "a b", "web%2F1", "%FF%FE", "ak_x"];

    private static readonly string[] QueryValues =
        ["1", "0", "-1", "1000", "1001", "10000", "abc", "99999999999999999999", "1.5", "", "%00", "%FF", "incident.*", "#", "a..b", new string('z', 2000)];

    private static readonly Gen<string> Text = Gen.String[Gen.Char[(char)0x20, (char)0x7e], 0, 40];

    private static Gen<FuzzRequest> Requests(List<Operation> operations) =>
        from op in Gen.OneOf(operations.ToArray())
        from pathValues in Gen.OneOf(Gen.OneOf(PathValues), Text.Select(Uri.EscapeDataString)).Array[op.PathParams.Count]
        from queryValues in Gen.OneOf(Gen.Const((string?)null), Gen.OneOf(QueryValues).Select(v => (string?)v), Text.Select(t => (string?)Uri.EscapeDataString(t))).Array[op.QueryParams.Count]
        from extraQuery in Gen.Frequency((4, Gen.Const("")), (1, Gen.OneOf("&limit=1&limit=2", "&unknown=x", "&types=", "&%zz=1")))
        from body in Body(op)
        from contentType in Gen.Frequency((8, Gen.Const((string?)"application/json")), (1, Gen.OneOf<string?>(null, "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1")))
        from auth in Gen.Frequency((6, Gen.Const("admin")), (2, Gen.Const("viewer")), (1, Gen.Const("none")), (1, Gen.Const("garbage")))
        from header in Gen.Frequency(
            (6, Gen.Const(((string, string)?)null)),
            (1, Gen.OneOf<(string, string)?>(("X-Request-Id", "bad id <>"), ("X-Request-Id", new string('r', 500)), ("Last-Event-ID", "nope"), ("Accept", "text/html"), ("X-Big", new string('h', 40_000)))))
        select new FuzzRequest(op, BuildPath(op, pathValues, queryValues) + extraQuery, body, body is null ? null : contentType, auth, header);

    private static string BuildPath(Operation op, string[] pathValues, string?[] queryValues)
    {
        var path = op.Template;
        for (var i = 0; i < op.PathParams.Count; i++)
        {
            path = path.Replace("{" + op.PathParams[i] + "}", pathValues[i], StringComparison.Ordinal);
        }

        var query = string.Join("&", op.QueryParams.Select((name, i) => queryValues[i] is { } v ? $"{name}={v}" : null).Where(q => q is not null));
        return query.Length == 0 ? path + "?" : path + "?" + query;
    }

    private static Gen<byte[]?> Body(Operation op)
    {
        var utf8 = (string s) => (byte[]?)Encoding.UTF8.GetBytes(s);
        var malformed = Gen.OneOf(
            Gen.Const((byte[]?)null),
            Gen.Const(Array.Empty<byte>()),
            Gen.Const((byte[]?)[0xFF, 0xFE, 0x7B, 0x22, 0xC3, 0x28, 0x22, 0x7D]),
            Gen.Const(utf8("{\"name\":\"\uD800x\"}")),
            Gen.Const(new byte[] { 0x7B, 0x22, 0x6E, 0x61, 0x6D, 0x65, 0x22, 0x3A, 0x22, 0xC3, 0x28, 0x22, 0x7D }),
            Gen.Int[1, 300].Select(d => utf8(new string('[', d) + new string(']', d))),
            Gen.Int[1, 300].Select(d => utf8(string.Concat(Enumerable.Repeat("{\"a\":", d)) + "1" + new string('}', d))),
            Gen.OneOf("1e999", "-1e999", "123456789012345678901234567890", "null", "true", "\"text\"", "[]", "{", "{\"a\":}", "{\"replicas\":1e400}").Select(utf8),
            Text.Select(utf8));
        if (op.BodySchema is not { } schema || !schema.TryGetProperty("properties", out var properties))
        {
            return Gen.Frequency((3, Gen.Const((byte[]?)null)), (2, malformed));
        }

        var names = properties.EnumerateObject().Select(p => (p.Name, Type: p.Value.TryGetProperty("type", out var t) ? t.ToString() : "object")).ToArray();
        var shaped =
            from count in Gen.Int[0, names.Length]
            from picks in Gen.Int[0, names.Length - 1].Array[count]
            from values in Value.Array[count]
            select utf8("{" + string.Join(",", picks.Distinct().Select((p, i) => $"\"{names[p].Name}\":{values[i]}")) + "}");
        var valid = Gen.Int[-2, 120].Select(r => utf8($$"""{"name":"svc{{Math.Abs(r)}}","command":"/bin/true","replicas":{{r}},"port":{{20000 + (Math.Abs(r) * 200)}}}"""));
        return Gen.Frequency((4, shaped), (2, valid), (3, malformed));
    }

    private static readonly Gen<string> Value = Gen.OneOf(
        Gen.OneOf("0", "-1", "1", "100", "101", "65535", "65536", "2147483648", "1e308", "1.5", "true", "null", "\"\"", "\"web\"", "\"viewer\"", "\"admin\"", "\"kill\"", "\"500ms\"", "\"-1s\"", "\"web-0\"", "[]", "{}", "[\"a\",1]", "{\"liveness\":{\"period\":\"0s\"}}"),
        Text.Select(t => JsonSerializer.Serialize(t)));

    /// <summary>A keyed gateway over a real store, on Kestrel or in memory, with keys that are never rate limited.</summary>
    private sealed class FuzzTarget(bool inMemory) : IAsyncDisposable
    {
        private readonly IStateStore store = GatewayFixture.CreateStore();
        private readonly InMemoryBus bus = new();
        private readonly InMemoryDocumentStore documents = new();
        private GatewayHost? host;
        private WebApplication? app;

        public string AdminKey { get; } = ApiKeyFormat.Generate().Key;

        public bool InMemory => inMemory;

        public async Task StartAsync()
        {
            await store.MigrateAsync();
            await store.SaveServiceAsync(new ServiceSpec { Name = "web", Command = "web", Replicas = 2, Port = 9100 });
            var options = new GatewayOptions { LogDirectory = Path.GetTempPath(), BootstrapKey = AdminKey, DefaultKeyRate = 0 };
            void Register(IServiceCollection services)
            {
                services.AddSingleton(store);
                services.AddSingleton<IFaultInjector>(new RecordingFaultInjector());
                services.AddSingleton<IDocumentStore>(documents);
                services.AddSingleton<IEventBus>(bus);
                // Functions and tasks are served (not "not enabled"), so their endpoints are fuzzed for real.
                services.AddSingleton(TimeProvider.System);
                Autonomic.Agents.Tasks.TaskServiceCollectionExtensions.AddTaskBoard(services);
                services.AddFunctions(new Autonomic.Backends.Functions.FunctionsOptions
                {
                    Directory = Path.Combine(Path.GetTempPath(), "autonomic-fuzz-fn-" + Guid.NewGuid().ToString("N")),
                    LogDirectory = Path.GetTempPath(),
                });
            }

            if (!inMemory)
            {
                host = await GatewayHost.StartAsync("http://127.0.0.1:0", options, Register);
                return;
            }

            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
            builder.Logging.ClearProviders();
            builder.WebHost.UseTestServer();
            builder.Services.AddAutonomicGateway(options);
            Register(builder.Services);
            app = builder.Build();
            app.UseAutonomicGateway();
            await app.StartAsync();
        }

        public HttpClient Client(string? key)
        {
            var http = app is not null ? app.GetTestClient() : new HttpClient { BaseAddress = host!.Address };
            if (key is not null)
            {
                http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            }

            return http;
        }

        public async Task<string> CreateKeyAsync(string role)
        {
            using var admin = Client(AdminKey);
            using var response = await admin.PostAsync("/api/v1/keys", new StringContent($$"""{"name":"fuzz","role":"{{role}}","rate":0}""", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return doc.RootElement.GetProperty("key").GetString()!;
        }

        public async ValueTask DisposeAsync()
        {
            if (host is not null)
            {
                await host.DisposeAsync();
            }

            if (app is not null)
            {
                await app.StopAsync();
                await app.DisposeAsync();
            }

            await bus.DisposeAsync();
            await store.DisposeAsync();
        }
    }
}
