export function RolloutsPage() {
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Rollouts</h1>
    </section>
  );
}
