using System.Net;
using System.Net.Sockets;

namespace Autonomic.Integration.Tests;

/// <summary>Free loopback ports for the suite's servers and instances.</summary>
internal static class TestPorts
{
    /// <summary>A port that was free a moment ago (the kernel's pick).</summary>
    public static int Free()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>A base port with <paramref name="count"/> free ports from it on (one per replica).</summary>
    public static int FreeRun(int count)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var start = Free();
            var ok = true;
            for (var i = 1; i < count && ok; i++)
            {
                try
                {
                    using var l = new TcpListener(IPAddress.Loopback, start + i);
                    l.Start();
                }
                catch (SocketException)
                {
                    ok = false;
                }
            }

            if (ok)
            {
                return start;
            }
        }

        throw new InvalidOperationException("no run of free ports found");
    }
}
