import type { VeripoBridge } from './api';

declare global {
  interface Window {
    veripo?: VeripoBridge;
  }
}
export {};
