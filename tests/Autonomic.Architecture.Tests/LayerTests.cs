using System.Reflection;
using System.Xml.Linq;
using Autonomic.Core.Specs;
using NetArchTest.Rules;

namespace Autonomic.Architecture.Tests;

/// <summary>The layer rule: Cli|Gateway|Traffic -> Agents -> Core, Backends -> Core, and Core references nothing.</summary>
public sealed class LayerTests
{
    private static readonly string[] OtherAutonomicNamespaces =
        ["Autonomic.Agents", "Autonomic.Backends", "Autonomic.Gateway", "Autonomic.Cli", "Autonomic.Workloads", "Autonomic.Traffic"];

    private static readonly string[] InfrastructureNamespaces =
        ["Microsoft.Extensions", "Microsoft.EntityFrameworkCore", "Microsoft.AspNetCore", "YamlDotNet", "System.CommandLine", "Spectre", "Yarp"];

    private static Assembly Core => typeof(ServiceSpec).Assembly;

    // Loaded by name: these assemblies may not have a public type to point at yet; all are in the output directory.
    private static Assembly Load(string name) => Assembly.Load(new AssemblyName(name));

    public static TheoryData<string, string[]> ForbiddenDependencies() => new()
    {
        { "Autonomic.Agents", ["Autonomic.Backends", "Autonomic.Gateway", "Autonomic.Cli", "Autonomic.Traffic"] },
        { "Autonomic.Backends", ["Autonomic.Agents", "Autonomic.Gateway", "Autonomic.Cli", "Autonomic.Traffic"] },
        // The load balancer sits beside the gateway: it reads the agents' live view, never the backends or the hosts.
        { "Autonomic.Traffic", ["Autonomic.Backends", "Autonomic.Gateway", "Autonomic.Cli"] },
        { "Autonomic.Gateway", ["Autonomic.Backends", "Autonomic.Cli"] },
    };

    [Fact]
    public void Core_DependsOnNoOtherAutonomicAssembly()
    {
        var result = Types.InAssembly(Core).ShouldNot().HaveDependencyOnAny(OtherAutonomicNamespaces).GetResult();

        Assert.True(result.IsSuccessful, Failing(result));
    }

    [Fact]
    public void Core_DependsOnNoInfrastructure()
    {
        var result = Types.InAssembly(Core).ShouldNot().HaveDependencyOnAny(InfrastructureNamespaces).GetResult();

        Assert.True(result.IsSuccessful, Failing(result));
    }

    [Fact]
    public void Core_ReferencesOnlyTheBaseLibrary()
    {
        var references = Core.GetReferencedAssemblies().Select(a => a.Name!).ToArray();

        Assert.All(references, name => Assert.True(
            name.StartsWith("System", StringComparison.Ordinal) || name is "netstandard" or "mscorlib",
            $"Autonomic.Core references {name}"));
    }

    [Fact]
    public void CoreProject_HasNoPackageOrProjectReference()
    {
        var project = XDocument.Load(Path.Combine(RepoLayout.Src, "Autonomic.Core", "Autonomic.Core.csproj"));

        var references = project.Descendants()
            .Where(e => e.Name.LocalName is "PackageReference" or "ProjectReference" or "FrameworkReference")
            .Select(e => $"{e.Name.LocalName} {(string?)e.Attribute("Include")}")
            .ToArray();

        Assert.Empty(references);
    }

    [Theory]
    [MemberData(nameof(ForbiddenDependencies))]
    public void Assembly_DoesNotDependOnLayersAboveOrBesideIt(string assembly, string[] forbidden)
    {
        var result = Types.InAssembly(Load(assembly)).ShouldNot().HaveDependencyOnAny(forbidden).GetResult();

        Assert.True(result.IsSuccessful, Failing(result));
    }

    [Theory]
    [MemberData(nameof(ForbiddenDependencies))]
    public void Assembly_DoesNotReferenceLayersAboveOrBesideIt(string assembly, string[] forbidden)
    {
        // The Cli assembly is named "autonomic"; project references that are used show up here.
        var forbiddenAssemblies = forbidden.Select(n => n == "Autonomic.Cli" ? "autonomic" : n).ToHashSet(StringComparer.OrdinalIgnoreCase);

        var references = Load(assembly).GetReferencedAssemblies().Select(a => a.Name!).ToArray();

        Assert.DoesNotContain(references, forbiddenAssemblies.Contains);
    }

    [Fact]
    public void DependencyRule_DetectsARealDependency()
    {
        // Guards against a rule that passes because it checks nothing: this test assembly does use NetArchTest.
        var result = Types.InAssembly(typeof(LayerTests).Assembly).ShouldNot().HaveDependencyOn("NetArchTest.Rules").GetResult();

        Assert.False(result.IsSuccessful);
        Assert.Contains(typeof(LayerTests).FullName, result.FailingTypeNames ?? []);
    }

    private static string Failing(TestResult result) =>
        "types breaking the layer rule: " + string.Join(", ", result.FailingTypeNames ?? []);
}
