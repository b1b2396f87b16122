export function RunsPage() {
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Runs</h1>
    </section>
  );
}
