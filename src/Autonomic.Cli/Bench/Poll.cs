namespace Autonomic.Cli.Bench;

/// <summary>Waits on a condition with a deadline instead of sleeping a fixed time.</summary>
internal static class Poll
{
    public static async Task<bool> UntilAsync(
        Func<Task<bool>> condition, TimeSpan timeout, TimeSpan interval, TimeProvider time, CancellationToken ct)
    {
        var start = time.GetTimestamp();
        while (true)
        {
            if (await condition())
            {
                return true;
            }

            if (time.GetElapsedTime(start) >= timeout)
            {
                return false;
            }

            await Task.Delay(interval, time, ct);
        }
    }

    public static Task<bool> UntilAsync(Func<bool> condition, TimeSpan timeout, TimeSpan interval, TimeProvider time, CancellationToken ct) =>
        UntilAsync(() => Task.FromResult(condition()), timeout, interval, time, ct);
}
