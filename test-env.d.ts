// Tests read JSON bodies of their own server's answers and assert on them field by field; typing each as
// `unknown` would only add casts. Product code does not see this file (it is only in tsconfig.tests.json).
declare global {
  interface Response {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    json(): Promise<any>;
  }
}
export {};
