// A plain CommonJS module, imported from TypeScript like any other.

// formatCounts renders a Map of name → count as "total (name: n, ...)",
// names in order.
exports.formatCounts = (counts) => {
  const names = [...counts.keys()].sort();
  const total = names.reduce((sum, n) => sum + counts.get(n), 0);
  return `${total} (${names.map((n) => `${n}: ${counts.get(n)}`).join(", ") || "none"})`;
};
