import testing from './testing.js';
export const { MockServer, SAMPLE_APP } = testing;
export default testing;
