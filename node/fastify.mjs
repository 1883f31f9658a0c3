import m from './fastify.js';
export const { verifiedCallback, BodyConsumedError } = m;
export default m;
