using System.Diagnostics;

namespace Autonomic.Integration.Tests.Leases;

/// <summary>Waits on a condition with a deadline instead of sleeping a fixed time.</summary>
internal static class LeaseEventually
{
    public static Task WaitAsync(Func<bool> condition, TimeSpan timeout, string? because = null) =>
        WaitAsync(() => Task.FromResult(condition()), timeout, because);

    public static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, string? because = null)
    {
        var watch = Stopwatch.StartNew();
        while (!await condition())
        {
            if (watch.Elapsed > timeout)
            {
                throw new TimeoutException($"Condition not met within {timeout}{(because is null ? "" : ": " + because)}");
            }

            await Task.Delay(10);
        }
    }
}
