namespace Autonomic.Backends.Fleet;

/// <summary>
/// A fleet file that cannot be used. The message always reads <c>FILE:LINE:COLUMN: FIELD: REASON</c> (line and
/// column are 1-based and omitted when the error comes from an environment override rather than the file), so
/// editors and terminals can jump to the spot.
/// </summary>
public sealed class FleetFileException : Exception
{
    public FleetFileException(string file, int line, int column, string field, string reason)
        : base(Format(file, line, column, field, reason))
    {
        File = file;
        Line = line;
        Column = column;
        Field = field;
        Reason = reason;
    }

    public FleetFileException(string file, int line, int column, string field, string reason, Exception inner)
        : base(Format(file, line, column, field, reason), inner)
    {
        File = file;
        Line = line;
        Column = column;
        Field = field;
        Reason = reason;
    }

    /// <summary>The file name as given to the loader.</summary>
    public string File { get; }

    /// <summary>1-based line of the offending node; 0 when not from the file.</summary>
    public int Line { get; }

    /// <summary>1-based column of the offending node; 0 when not from the file.</summary>
    public int Column { get; }

    /// <summary>Path of the offending field, e.g. <c>services.web.health.liveness.period</c>; empty for the whole file.</summary>
    public string Field { get; }

    /// <summary>What is wrong, without the location prefix.</summary>
    public string Reason { get; }

    private static string Format(string file, int line, int column, string field, string reason)
    {
        string location = line > 0 ? $"{file}:{line}:{column}" : file;
        return field.Length > 0 ? $"{location}: {field}: {reason}" : $"{location}: {reason}";
    }
}
