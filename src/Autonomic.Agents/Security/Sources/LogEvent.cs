namespace Autonomic.Agents.Security.Sources;

/// <summary>What a parsed line or event says, as the detectors see it.</summary>
[Flags]
public enum LogEventKind
{
    None = 0,
    /// <summary>An authentication failure that fail2ban's sshd filter counts.</summary>
    AuthFailure = 1,
    /// <summary>A login attempt for a user that does not exist (<c>Invalid user</c>).</summary>
    InvalidUser = 2,
    AuthSuccess = 4,
    /// <summary>An HTTP request (access log line or gateway access event).</summary>
    Request = 8,
    /// <summary>An error-log line.</summary>
    Error = 16,
}

/// <summary>
/// One normalized input of the security agent: a parsed log line or a gateway access event. Fields a format does not
/// have stay null or 0. <see cref="Count"/> is more than 1 for syslog's <c>message repeated N times</c>.
/// </summary>
public sealed class LogEvent
{
    public DateTimeOffset Time { get; set; }
    /// <summary>Where it came from: a file path, or <c>gateway</c>.</summary>
    public string Origin { get; set; } = "";
    /// <summary><c>sshd</c>, <c>access</c>, <c>apache_error</c>, <c>gateway</c>, <c>text</c>.</summary>
    public string Format { get; set; } = "";
    public LogEventKind Kind { get; set; }
    public string? SourceIp { get; set; }
    public string? User { get; set; }
    public string? Method { get; set; }
    /// <summary>Request target: path and query.</summary>
    public string? Target { get; set; }
    public int Status { get; set; }
    public long Bytes { get; set; }
    public string? UserAgent { get; set; }
    public string? KeyId { get; set; }
    /// <summary>The message part of the line (after the syslog or error-log prefix), for template mining.</summary>
    public string? Message { get; set; }
    /// <summary>The raw line, kept as evidence.</summary>
    public string Line { get; set; } = "";
    /// <summary>The instance whose own log the line is from, when it is one.</summary>
    public string? Instance { get; set; }
    public int Count { get; set; } = 1;

    public bool Is(LogEventKind kind) => (Kind & kind) != 0;
}
