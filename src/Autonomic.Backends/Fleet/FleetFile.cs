using System.Collections;
using System.Text.RegularExpressions;
using Autonomic.Core.Specs;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Autonomic.Backends.Fleet;

/// <summary>
/// Reads a fleet file (<c>autonomic.yaml</c>) into a validated <see cref="FleetSpec"/>. Every error is a
/// <see cref="FleetFileException"/> naming file, line, column and field path; nothing invalid gets through, and a
/// missing command is not an error here (the runtime reports it at launch).
/// </summary>
/// <remarks>
/// Environment overrides, applied after the file and validated like it: <c>AUTONOMIC_API</c>,
/// <c>AUTONOMIC_STORE</c>, <c>AUTONOMIC_BUS</c>, <c>AUTONOMIC_REDIS</c> (or <c>AUTONOMIC_LEASES</c>), <c>AUTONOMIC_LOG_DIR</c>, <c>AUTONOMIC_DRY_RUN</c>, and per service
/// <c>AUTONOMIC_SERVICES__NAME__REPLICAS</c>, <c>AUTONOMIC_SERVICES__NAME__PORT</c> and <c>AUTONOMIC_SERVICES__NAME__LB_PORT</c>
/// (name upper-cased, '-' as '_').
/// </remarks>
public static partial class FleetFile
{
    /// <summary>Reads and validates the fleet file at <paramref name="path"/>.</summary>
    /// <param name="path">The file; error messages name it as given.</param>
    /// <param name="environment">Variables for overrides and for the PATH used to resolve commands.</param>
    /// <param name="extraSearchDirectory">Searched before PATH for bare command names (the CLI passes its own directory).</param>
    public static FleetSpec Load(string path, IReadOnlyDictionary<string, string?> environment, string? extraSearchDirectory = null)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new FleetFileException(path, 0, 0, "", $"cannot read the fleet file: {ex.Message}", ex);
        }

        return Parse(text, path, environment, extraSearchDirectory);
    }

    /// <summary>
    /// Parses fleet YAML. <paramref name="fileName"/> is used in messages, and its directory is the base of relative
    /// <c>working_dir</c> and relative commands.
    /// </summary>
    public static FleetSpec Parse(string yaml, string fileName, IReadOnlyDictionary<string, string?> environment, string? extraSearchDirectory = null) =>
        new FleetReader(fileName, environment, extraSearchDirectory).Read(yaml);

    /// <summary>The current process environment as the dictionary <see cref="Load"/> takes.</summary>
    public static IReadOnlyDictionary<string, string?> ProcessEnvironment()
    {
        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            result[(string)entry.Key] = entry.Value as string;
        }

        return result;
    }

    [GeneratedRegex("^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")]
    internal static partial Regex DnsLabel();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    internal static partial Regex EnvName();
}
