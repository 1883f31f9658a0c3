/** The local ECP mock (the `yunxin-ecp-mock` binary) as a child process on 127.0.0.1. */
export declare class MockServer {
  /**
   * `binary`: a path (or a name looked up on PATH); else `$YUNXIN_ECP_MOCK`, else
   * `yunxin-ecp-mock` on PATH, else `yunxin-ecp` on PATH run as `yunxin-ecp mock`.
   */
  static start(options?: { binary?: string; callbackUrl?: string; args?: string[] }): Promise<MockServer>;
  readonly baseUrl: string;
  control(method: 'GET' | 'POST', path: string, fields?: Record<string, string>): Promise<unknown>;
  fault(kind: string, extra?: { ms?: number; bytes?: number; times?: number }): Promise<unknown>;
  stats(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}
/** The samples' app, which the mock accepts by default. */
export declare const SAMPLE_APP: { readonly appKey: string; readonly appSecret: string };
/**
 * The command that would run the mock, `[file, ...leading arguments]`, found in the order
 * `MockServer.start` uses; throws an error naming each place tried (`code`: `YUNXIN_ECP_NO_MOCK`).
 */
export declare function mockCommand(binary?: string): string[];
