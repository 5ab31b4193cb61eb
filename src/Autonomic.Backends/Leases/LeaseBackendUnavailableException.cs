namespace Autonomic.Backends.Leases;

/// <summary>
/// The lease or rate-limit backend could not be reached (connection refused or lost, timeout). The message names
/// the backend by its masked URL; the inner exception is the client's own. An <see cref="IOException"/>, so that
/// callers that know only the Core interfaces can treat it as a transient I/O failure.
/// </summary>
public sealed class LeaseBackendUnavailableException : IOException
{
    /// <summary>Creates the exception.</summary>
    public LeaseBackendUnavailableException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
