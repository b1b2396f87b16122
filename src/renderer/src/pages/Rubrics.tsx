export function RubricsPage() {
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Rubrics</h1>
    </section>
  );
}
