namespace Autonomic.Gateway;

/// <summary>Settings of the HTTP API. <see cref="LogDirectory"/> is where instance logs are read from.</summary>
public sealed class GatewayOptions
{
    /// <summary>Directory holding one <c>&lt;instanceId&gt;.log</c> file per instance.</summary>
    public string LogDirectory { get; set; } = ".autonomic/logs";
}
