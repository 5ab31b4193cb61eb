namespace Autonomic.Core.Security;

/// <summary>
/// How long a ban lasts, as fail2ban's <c>bantime.increment</c>: the first ban lasts <see cref="BanTime"/>, each
/// repeat offence multiplies it by <see cref="Factor"/> (<c>bantime × factor^count</c>, count = earlier bans), never
/// beyond <see cref="MaxTime"/>.
/// </summary>
public sealed record BanPolicy
{
    public TimeSpan BanTime { get; init; } = TimeSpan.FromMinutes(10);
    public double Factor { get; init; } = 2;
    public TimeSpan MaxTime { get; init; } = TimeSpan.FromDays(7);

    /// <summary>The ban for an offender banned <paramref name="earlierBans"/> times before.</summary>
    public TimeSpan Duration(int earlierBans)
    {
        var ticks = BanTime.Ticks * Math.Pow(Factor, Math.Clamp(earlierBans, 0, 64));
        return double.IsFinite(ticks) && ticks < MaxTime.Ticks ? TimeSpan.FromTicks((long)ticks) : MaxTime;
    }
}
