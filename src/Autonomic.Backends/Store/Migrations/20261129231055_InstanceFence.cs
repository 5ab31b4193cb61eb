using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Autonomic.Backends.Store.Migrations
{
    /// <inheritdoc />
    public partial class InstanceFence : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "Fence",
                table: "instances",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0L);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "Fence",
                table: "instances");
        }
    }
}
