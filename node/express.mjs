import m from './express.js';
export const { verifiedCallback, BodyConsumedError } = m;
export default m;
