using System.Net;
using System.Net.Http.Json;
using Autonomic.Integration.Tests.ControlPlane;

namespace Autonomic.Integration.Tests.Functions;

/// <summary>
/// In a real embedded control plane with API keys: deploying a function is a change (audited), invoking it is a data
/// event (in the access events and the function's log, not in the audit trail).
/// </summary>
public sealed class FunctionAuditTests
{
    [Fact]
    public async Task A_deploy_is_audited_and_an_invocation_is_not()
    {
        await using var h = new ControlPlaneHarness();
        await h.StartAsync(h.Fleet($"""
              worker:
                command: {ControlPlaneHarness.Workload}
                port: {TestPorts.Free()}
            """));
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{h.ApiPort}/"), Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", h.AdminKey);
        var source = await File.ReadAllTextAsync(Path.Combine(Observability.Tools.RepoRoot, "examples", "functions", "upper.sh"));
        var deployed = await http.PostAsJsonAsync("api/v1/functions", new { name = "upper", kind = "exec", source, fileName = "upper.sh" });
        Assert.Equal(HttpStatusCode.Created, deployed.StatusCode);

        for (int i = 0; i < 3; i++)
        {
            var invoked = await http.PostAsync("api/v1/functions/upper/invoke", new StringContent("\"abc\"", System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, invoked.StatusCode);
        }

        var gateway = (await h.Store.ListActionsAsync(1000)).Where(a => a.Agent == "gateway").ToList();
        Assert.Contains(gateway, a => a.Kind == "api.post" && a.Subject == "/api/v1/functions");
        Assert.DoesNotContain(gateway, a => a.Subject.Contains("/invoke", StringComparison.Ordinal));
    }
}
