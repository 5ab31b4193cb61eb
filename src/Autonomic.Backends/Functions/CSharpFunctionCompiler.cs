using System.Collections.Immutable;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Autonomic.Backends.Functions;

/// <summary>The outcome of compiling a C# function: the DLL's bytes, or the errors (file:line:col: error ID: message).</summary>
public sealed record CompileResult(byte[]? Assembly, IReadOnlyList<string> Errors)
{
    public bool Succeeded => Assembly is not null;
}

/// <summary>
/// Compiles a C# function with Roslyn against the .NET base library (the shared framework's assemblies, no ASP.NET),
/// with implicit usings for System, collections, LINQ, IO, tasks and System.Text.Json(.Nodes). A function must
/// define a type named <c>Handler</c> with a public static <c>Handle</c> or <c>HandleAsync</c> taking a
/// <c>JsonNode?</c> (and optionally a <c>CancellationToken</c>).
/// </summary>
public static class CSharpFunctionCompiler
{
    private const int MaxErrors = 50;

    private const string GlobalUsings = """
        global using System;
        global using System.Collections.Generic;
        global using System.IO;
        global using System.Linq;
        global using System.Text;
        global using System.Text.Json;
        global using System.Text.Json.Nodes;
        global using System.Threading;
        global using System.Threading.Tasks;
        """;

    private static readonly Lazy<ImmutableArray<MetadataReference>> References = new(LoadReferences);

    /// <summary>Compiles <paramref name="source"/> (named <paramref name="fileName"/> in diagnostics) into a DLL.</summary>
    public static CompileResult Compile(string assemblyName, string fileName, string source)
    {
        var parse = CSharpParseOptions.Default.WithLanguageVersion(LanguageVersion.Latest);
        var trees = new[]
        {
            CSharpSyntaxTree.ParseText(source, parse, path: fileName, encoding: Encoding.UTF8),
            CSharpSyntaxTree.ParseText(GlobalUsings, parse, path: "<implicit usings>", encoding: Encoding.UTF8),
        };
        var options = new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary)
            .WithOptimizationLevel(OptimizationLevel.Release)
            .WithNullableContextOptions(NullableContextOptions.Enable)
            .WithConcurrentBuild(false);
        var compilation = CSharpCompilation.Create(assemblyName, trees, References.Value, options);

        using var output = new MemoryStream();
        var emit = compilation.Emit(output);
        var errors = emit.Diagnostics
            .Where(d => d.Severity == DiagnosticSeverity.Error)
            .Take(MaxErrors)
            .Select(Format)
            .ToList();
        if (!emit.Success)
        {
            return new CompileResult(null, errors.Count > 0 ? errors : ["the compiler produced no assembly"]);
        }

        var entry = FindEntry(compilation);
        return entry is null ? new CompileResult(null, [$"{fileName}: error: {EntryHint}"]) : new CompileResult(output.ToArray(), []);
    }

    internal const string EntryHint =
        "no handler: define a type named Handler with a public static Handle(JsonNode? evt) or HandleAsync(JsonNode? evt[, CancellationToken ct]) method";

    private static IMethodSymbol? FindEntry(CSharpCompilation compilation)
    {
        foreach (var type in compilation.GetSymbolsWithName(n => n == "Handler", SymbolFilter.Type).OfType<INamedTypeSymbol>())
        {
            foreach (var method in type.GetMembers().OfType<IMethodSymbol>())
            {
                if (method is { IsStatic: true, DeclaredAccessibility: Accessibility.Public, Name: "Handle" or "HandleAsync" }
                    && method.Parameters.Length is 1 or 2
                    && method.Parameters[0].Type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat).TrimEnd('?') == "global::System.Text.Json.Nodes.JsonNode"
                    && (method.Parameters.Length == 1 || method.Parameters[1].Type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat) == "global::System.Threading.CancellationToken")
                    && type.DeclaredAccessibility == Accessibility.Public)
                {
                    return method;
                }
            }
        }

        return null;
    }

    private static string Format(Diagnostic d)
    {
        var span = d.Location.GetLineSpan();
        var where = d.Location.IsInSource
            ? $"{span.Path}:{span.StartLinePosition.Line + 1}:{span.StartLinePosition.Character + 1}"
            : "<compilation>";
        return $"{where}: error {d.Id}: {d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}";
    }

    private static ImmutableArray<MetadataReference> LoadReferences()
    {
        // The shared framework this process runs on: the same one the function host will run on.
        var frameworkDir = RuntimeEnvironment.GetRuntimeDirectory();
        var paths = ((string?)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES"))?.Split(Path.PathSeparator) ?? [];
        var framework = paths
            .Where(p => Path.GetDirectoryName(p) is { } dir && Path.GetFullPath(dir + "/") == Path.GetFullPath(frameworkDir))
            .ToList();
        if (framework.Count == 0)
        {
            framework = Directory.EnumerateFiles(frameworkDir, "*.dll").ToList();
        }

        return [.. framework
            .Where(p => Path.GetFileName(p) is var f && (f.StartsWith("System.", StringComparison.Ordinal) || f is "netstandard.dll" or "mscorlib.dll" or "Microsoft.CSharp.dll" or "Microsoft.Win32.Primitives.dll"))
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))];
    }
}
