export function PairsPage() {
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Pairs</h1>
    </section>
  );
}
