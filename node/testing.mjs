import testing from './testing.js';
export const { MockServer, SAMPLE_APP, mockCommand } = testing;
export default testing;
