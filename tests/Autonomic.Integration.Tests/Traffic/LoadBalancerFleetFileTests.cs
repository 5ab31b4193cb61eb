using Autonomic.Backends.Fleet;
using Autonomic.Core.Specs;

namespace Autonomic.Integration.Tests.Traffic;

public sealed class LoadBalancerFleetFileTests
{
    private static readonly Dictionary<string, string?> Env = new() { ["PATH"] = "/usr/bin:/bin" };

    [Fact]
    public void A_load_balancer_block_is_read_with_its_defaults_and_health_path_from_readiness()
    {
        FleetSpec fleet = FleetFile.Parse("""
            services:
              web:
                command: /bin/true
                port: 8081
                replicas: 2
                health:
                  readiness: {http: /readyz}
                load_balancer:
                  port: 8080
                  algorithm: least-requests
                  health_interval: 500ms
                  passive_failures: 2
                  drain_timeout: 20s
              api:
                command: /bin/true
                port: 9001
                lb: 9000
              worker:
                command: /bin/true
            """, "autonomic.yaml", Env);

        LoadBalancerSpec web = fleet.Services.Single(s => s.Name == "web").LoadBalancer!;
        Assert.Equal(8080, web.Port);
        Assert.Equal(LoadBalancingAlgorithm.LeastRequests, web.Algorithm);
        Assert.Equal(TimeSpan.FromMilliseconds(500), web.HealthInterval);
        Assert.Equal(2, web.PassiveFailures);
        Assert.Equal(TimeSpan.FromSeconds(20), web.DrainTimeout);
        Assert.Equal("/readyz", web.HealthPathFor(fleet.Services.Single(s => s.Name == "web")));

        ServiceSpec api = fleet.Services.Single(s => s.Name == "api");
        Assert.Equal(new LoadBalancerSpec { Port = 9000 }, api.LoadBalancer);
        Assert.Equal("/healthz", api.LoadBalancer!.HealthPathFor(api));
        Assert.Null(fleet.Services.Single(s => s.Name == "worker").LoadBalancer);
    }

    [Fact]
    public void The_load_balancer_port_is_moved_by_its_environment_override_and_a_bad_one_is_named()
    {
        const string yaml = "services:\n  web:\n    command: /bin/true\n    port: 8081\n    lb: 8080\n";
        var env = new Dictionary<string, string?>(Env) { ["AUTONOMIC_SERVICES__WEB__LB_PORT"] = "18080" };
        Assert.Equal(18080, FleetFile.Parse(yaml, "autonomic.yaml", env).Services.Single().LoadBalancer!.Port);

        env["AUTONOMIC_SERVICES__WEB__LB_PORT"] = "0";
        FleetFileException ex = Assert.Throws<FleetFileException>(() => FleetFile.Parse(yaml, "autonomic.yaml", env));
        Assert.Equal("services.web.load_balancer.port", ex.Field);
    }

    [Theory]
    [InlineData("    load_balancer: {algorithm: random, port: 80}\n", 5, 32, "services.web.load_balancer.algorithm", "random")]
    [InlineData("    load_balancer: {algorithm: round-robin}\n", 5, 20, "services.web.load_balancer.port", "missing")]
    [InlineData("    lb: 70000\n", 5, 9, "services.web.lb", "65535")]
    [InlineData("    load_balancer: {port: 80, health_path: readyz}\n", 5, 44, "services.web.load_balancer.health_path", "starting with /")]
    [InlineData("    load_balancer: {port: 80, drain: 5s}\n", 5, 31, "services.web.load_balancer.drain", "unknown key")]
    [InlineData("    load_balancer: {port: 80}\n    lb: 81\n", 6, 9, "services.web.lb", "short form")]
    public void Errors_name_the_line_and_field(string block, int line, int column, string field, string reason)
    {
        string yaml = "services:\n  web:\n    command: /bin/true\n    port: 8081\n" + block;
        FleetFileException ex = Assert.Throws<FleetFileException>(() => FleetFile.Parse(yaml, "autonomic.yaml", Env));
        Assert.Equal(field, ex.Field);
        Assert.Contains(reason, ex.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal((line, column), (ex.Line, ex.Column));
    }
}
