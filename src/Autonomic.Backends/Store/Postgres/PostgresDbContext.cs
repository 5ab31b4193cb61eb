using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Autonomic.Backends.Store.Postgres;

/// <summary>
/// The state-store model of <see cref="AutonomicDbContext"/> on PostgreSQL. A type of its own only because EF
/// binds migrations to the exact context type: this one carries the PostgreSQL migrations in
/// <c>Store/Postgres/Migrations</c>, the base type the SQLite ones.
/// </summary>
/// <remarks>
/// Generating a migration after a model change (from the repository root; no database is opened):
/// <code>
/// dotnet tool restore
/// dotnet ef migrations add NAME --project src/Autonomic.Backends --context PostgresDbContext --output-dir Store/Postgres/Migrations --namespace Autonomic.Backends.Store.Postgres.Migrations
/// dotnet ef migrations add NAME --project src/Autonomic.Backends --context AutonomicDbContext --output-dir Store/Migrations
/// </code>
/// (With <c>--namespace</c>, a new model snapshot lands in a folder named after the namespace: move it into
/// <c>Store/Postgres/Migrations</c>; later runs update it in place.) Both providers get the same migration: the
/// model is shared. Anything EF cannot express (the append-only
/// triggers) is added by hand with <c>migrationBuilder.Sql</c>.
/// </remarks>
public sealed class PostgresDbContext(DbContextOptions<PostgresDbContext> options) : AutonomicDbContext(options);

/// <summary>Lets <c>dotnet ef migrations add --context PostgresDbContext</c> build the model without a server.</summary>
public sealed class PostgresDesignTimeDbContextFactory : IDesignTimeDbContextFactory<PostgresDbContext>
{
    public PostgresDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgresDbContext>().UseNpgsql("Host=127.0.0.1;Database=autonomic_design").Options);
}
