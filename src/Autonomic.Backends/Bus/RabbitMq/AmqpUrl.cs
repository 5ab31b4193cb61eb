namespace Autonomic.Backends.Bus.RabbitMq;

/// <summary>Renders AMQP URLs for logs and errors with the password replaced by <c>***</c>.</summary>
public static class AmqpUrl
{
    /// <summary>The URL with any password masked; text that is no URL comes back with nothing after its scheme.</summary>
    public static string Mask(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            var colon = url.IndexOf(':', StringComparison.Ordinal);
            return colon > 0 ? url[..(colon + 1)] + "//***" : "***";
        }

        var info = uri.UserInfo;
        if (string.IsNullOrEmpty(info))
        {
            return url;
        }

        var user = info.Split(':', 2)[0];
        // Written by hand: UriBuilder would escape the "*" of the mask.
        var masked = info.Contains(':', StringComparison.Ordinal) ? $"{user}:***" : user;
        var port = uri.IsDefaultPort ? "" : $":{uri.Port}";
        return $"{uri.Scheme}://{masked}@{uri.Host}{port}{uri.PathAndQuery}";
    }
}
