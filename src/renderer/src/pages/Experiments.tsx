export function ExperimentsPage() {
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Experiments</h1>
    </section>
  );
}
