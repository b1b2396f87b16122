// The shape of window.veripo, shared by the preload script and the renderer's client.
export interface VeripoBridge {
  invoke(method: string, args: unknown): Promise<{ ok: boolean; result?: unknown; error?: { message: string; status: number } }>;
  onEvent(listener: (event: unknown) => void): () => void;
}
