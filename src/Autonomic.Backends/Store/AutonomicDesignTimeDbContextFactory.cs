using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Autonomic.Backends.Store;

/// <summary>
/// Lets <c>dotnet ef migrations add</c> build the model without a host. The database named here is never
/// opened by the migration commands that generate code.
/// </summary>
public sealed class AutonomicDesignTimeDbContextFactory : IDesignTimeDbContextFactory<AutonomicDbContext>
{
    public AutonomicDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<AutonomicDbContext>().UseSqlite("Data Source=autonomic-design.db").Options);
}
